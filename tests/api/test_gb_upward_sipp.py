"""Live video and playback for an upper platform (GB/T 28181, G4 "Upward"): SIPp as the upper
platform INVITEs a shared camera (tests/sipp/upper_media.xml), the test receives the RTP it was
promised (UDP, or TCP with RFC 4571), checks SSRC, payload type and sequence, and ffprobe reads the
PS as H.264; the register and the operation log hold the view. Refusals (403, 400, 404, 488, 481)
over a plain UDP socket. A missing `sipp`, `ffmpeg` or `ffprobe` fails the tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custos.adapters.media import ps_sender
from custos.adapters.media.ps_sender import MediaChannel, PlaybackFile, PlaybackSource, PsSender
from custos.adapters.sip import cascade_media
from custos.adapters.sip.cascade_link import LocalIdentity, UdpUpperLink
from custos.bootstrap import Container
from custos.domain.register import RegisterKind
from tests.api.access_world import make_clip
from tests.api.builders import API
from tests.api.gb_upward_support import (
    SHARED,
    SSRC,
    UNSHARED,
    Recorder,
    RtpReceiver,
    Uac,
    Upper,
    archive,
    archive_at,
    check_stream,
    free_port,
    invites,
    media_port,
    register_entries,
    run_sipp,
    sdp,
    serve_link,
    to_tag,
    upward_config,
)  # fmt: skip
from tests.api.test_gb_cascade_sipp import CUSTOS_ID, UPPER_ID, _setup


@pytest.fixture
def upper(
    client: TestClient, admin: dict[str, str], container: Container, tmp_path: Path
) -> Iterator[Upper]:
    for tool in ("sipp", "ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (scripts/setup)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    pid = _setup(client, admin, sock.getsockname()[1], shared=5)
    [platform] = [p for p in container.gb_cascade.enabled_platforms() if p.id == pid]
    link = UdpUpperLink(
        platform, LocalIdentity(CUSTOS_ID, CUSTOS_ID[:10]), container.gb_cascade, "127.0.0.1",
        contact_host="127.0.0.1", media=upward_config(container, tmp_path),
    )  # fmt: skip
    camera_id = container.gb_cascade.shared_camera(pid, SHARED)
    assert camera_id is not None
    u = Upper(container, link, sock, camera_id, pid)
    u.thread = threading.Thread(target=serve_link, args=(u,), daemon=True)
    u.thread.start()
    yield u
    u.stop_serving()
    link.close()
    sock.close()


@pytest.fixture
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("upward-clip") / "clip.mp4")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("transport", "setup", "rx_kind"),
    [("RTP/AVP", "recvonly", "udp"), ("TCP/RTP/AVP", "setup:passive", "tcp-listen")],
)
def test_an_upper_platform_gets_live_video_of_a_shared_camera_as_rtp_ps(
    upper: Upper, client: TestClient, admin: dict[str, str], clip: Path, tmp_path: Path,
    transport: str, setup: str, rx_kind: str,
) -> None:  # fmt: skip
    recorder = Recorder(upper.container.settings.resolved_media_dir(), upper.camera_id, clip)
    recorder.start()
    rx = RtpReceiver(rx_kind)
    try:
        fields = [SHARED, UPPER_ID, UPPER_ID[:10], str(rx.port), "Play", "0 0", transport,
                  setup, "0", SSRC]  # fmt: skip
        rc, trace = run_sipp(upper, tmp_path, fields)
    finally:
        recorder.stop.set()
    assert rc == 0, trace[-4000:]
    assert "a=sendonly" in trace and f"y={SSRC}" in trace
    if rx_kind == "tcp-listen":
        assert "a=setup:active" in trace  # the platform listens: Custos connects
    time.sleep(0.3)
    check_stream(rx, tmp_path)
    assert upper.link.dialogs is not None and upper.link.dialogs.active == []
    [entry] = register_entries(upper, RegisterKind.LIVE_VIEW)
    assert UPPER_ID in entry.organ and entry.camera_ids == (upper.camera_id,)  # type: ignore[attr-defined]
    assert entry.ended_at is not None and entry.persons[0].credential == f"gb:{UPPER_ID}"  # type: ignore[attr-defined]
    [invite] = invites(client, admin)
    assert invite["outcome"] == "ok" and invite["actor"] == f"gb:{UPPER_ID}"
    assert invite["detail"]["answer"] == 200  # type: ignore[index]


@pytest.mark.slow
def test_an_upper_platform_plays_back_a_recorded_range_in_real_time(
    upper: Upper, client: TestClient, admin: dict[str, str], clip: Path, tmp_path: Path
) -> None:
    start = archive(upper.container, upper.camera_id, clip)
    rx = RtpReceiver("udp")
    fields = [SHARED, UPPER_ID, UPPER_ID[:10], str(rx.port), "Playback",
              f"{start + 5} {start + 25}", "RTP/AVP", "recvonly", "0", SSRC]  # fmt: skip
    rc, trace = run_sipp(upper, tmp_path, fields)
    assert rc == 0, trace[-4000:]
    time.sleep(0.3)
    check_stream(rx, tmp_path)
    # -re: five seconds of the range in the five seconds before the BYE, not all twenty
    stamps = [p.timestamp for p in rx.packets]
    assert 3 * 90_000 < max(stamps) - min(stamps) < 8 * 90_000
    [entry] = register_entries(upper, RegisterKind.PLAYBACK)
    assert entry.start is not None and int(entry.start.timestamp()) == start + 5  # type: ignore[attr-defined]
    assert entry.ended_at is not None  # type: ignore[attr-defined]


@pytest.mark.slow
def test_tcp_active_offer_has_custos_listen_and_the_platform_connect(
    upper: Upper, clip: Path, tmp_path: Path
) -> None:
    recorder = Recorder(upper.container.settings.resolved_media_dir(), upper.camera_id, clip)
    recorder.start()
    uac = Uac(upper)
    rx = RtpReceiver("tcp-connect")
    try:
        ok = uac.request("INVITE", "tcpa", sdp("Play", 9, proto="TCP/RTP/AVP",
                                                extra="a=setup:active"))  # fmt: skip
        assert ok.startswith("SIP/2.0 200") and "a=setup:passive" in ok, ok
        uac.request("ACK", "tcpa", to_tag=to_tag(ok))
        rx.connect(media_port(ok))
        time.sleep(4)
        bye = uac.request("BYE", "tcpa", to_tag=to_tag(ok))
        assert bye.startswith("SIP/2.0 200"), bye
    finally:
        recorder.stop.set()
    check_stream(rx, tmp_path)


def test_refusals_unshared_bad_sdp_download_not_recording_no_footage_and_unknown_bye(
    upper: Upper, client: TestClient, admin: dict[str, str], tmp_path: Path
) -> None:
    uac = Uac(upper)
    port = free_port(socket.SOCK_DGRAM)
    answers = {"unshared": uac.request("INVITE", "c1", sdp("Play", port), channel=UNSHARED)}
    answers["bad sdp"] = uac.request("INVITE", "c2", sdp("Play", port).replace("c=IN", "c=XX"))
    answers["download"] = uac.request("INVITE", "c3", sdp("Download", port, "1 2"))
    answers["not recording"] = uac.request("INVITE", "c4", sdp("Play", port))
    now = int(upper.container.clock.now().timestamp())
    answers["no footage"] = uac.request(
        "INVITE", "c5", sdp("Playback", port, f"{now - 7200} {now - 3600}")
    )
    answers["unknown bye"] = uac.request("BYE", "c6", to_tag="x")
    first = {k: v.split("\r\n")[0] for k, v in answers.items()}
    assert first == {
        "unshared": "SIP/2.0 403 Camera not shared with this platform",
        "bad sdp": "SIP/2.0 400 Bad SDP: sdp.c must be IN IP4 <address>",
        "download": "SIP/2.0 488 Download not served (Play and Playback are)",
        "not recording": "SIP/2.0 488 Camera not recording now",
        "no footage": "SIP/2.0 404 No recording in that range",
        "unknown bye": "SIP/2.0 481 Call/Transaction Does Not Exist",
    }
    logged = {e["detail"]["call_id"]: e for e in invites(client, admin)}  # type: ignore[index]
    assert {k: (v["outcome"], v["detail"]["answer"]) for k, v in logged.items()} == {  # type: ignore[index]
        "c1": ("refused", 403), "c2": ("refused", 400), "c3": ("refused", 488),
        "c4": ("refused", 488), "c5": ("refused", 404),
    }  # fmt: skip
    assert logged["c2"]["detail"]["field"] == "sdp.c"  # type: ignore[index]


@pytest.mark.slow
def test_several_views_at_once_all_end_when_the_cascade_link_stops(
    upper: Upper, client: TestClient, admin: dict[str, str], clip: Path, tmp_path: Path
) -> None:
    recorder = Recorder(upper.container.settings.resolved_media_dir(), upper.camera_id, clip)
    recorder.start()
    uac = Uac(upper)
    receivers = [RtpReceiver("udp") for _ in range(3)]
    try:
        for n, rx in enumerate(receivers):
            ok = uac.request("INVITE", f"many{n}", sdp("Play", rx.port))
            assert ok.startswith("SIP/2.0 200"), ok
            uac.request("ACK", f"many{n}", to_tag=to_tag(ok))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(len(r.packets) > 20 for r in receivers):
            time.sleep(0.1)
        assert upper.link.dialogs is not None and len(upper.link.dialogs.active) == 3
        upper.stop_serving()
        upper.link.close()  # the cascade client stops (disabled, edited, custos serve ends)
    finally:
        recorder.stop.set()
    counts = [len(r.packets) for r in receivers]
    time.sleep(0.5)
    assert [len(r.packets) for r in receivers] == counts  # nothing after the stop
    assert _ffmpeg_children() == []  # no ffmpeg outlives its stream
    for rx in receivers:
        check_stream(rx, tmp_path)
    entries = register_entries(upper, RegisterKind.LIVE_VIEW)
    assert len(entries) == 3 and all(e.ended_at is not None for e in entries)  # type: ignore[attr-defined]
    log = client.get(f"{API}/audit/search?action=gb_upward", headers=admin).json()["entries"]
    closed = [e["entry"] for e in log if e["entry"]["action"] == "gb_upward.live_view.close"]
    assert [e["detail"]["reason"] for e in closed] == ["cascade link stopped"] * 3


def test_playback_serves_only_segments_the_rules_let_out(
    upper: Upper, clip: Path, tmp_path: Path
) -> None:
    """Missing, marked for deletion, or past retention without a hold: not served; a range
    with nothing left is answered 404."""
    c = upper.container
    service = upward_config(c, tmp_path).service
    archive(c, upper.camera_id, clip, segments=3)
    first = c.clock.now() - timedelta(hours=1)
    pieces = service.playback(upper.camera_id, first, first + timedelta(seconds=30))
    assert [p.segment.sequence for p in pieces] == [0, 1, 2]
    ids = [p.segment.id or 0 for p in pieces]
    with c.uow() as uow:
        uow.segments.mark_missing(ids[0])
        uow.commit()
    pieces[2].path.chmod(0o644)
    pieces[2].path.unlink()  # its file gone (and no copy to fetch)
    left = service.playback(upper.camera_id, first, first + timedelta(seconds=30))
    assert [p.segment.sequence for p in left] == [1]
    old = archive_at(c, upper.camera_id, clip, c.clock.now() - timedelta(days=800))
    assert service.playback(upper.camera_id, old, old + timedelta(seconds=10)) == []
    uac = Uac(upper)
    t = f"{int(old.timestamp())} {int(old.timestamp()) + 10}"
    answer = uac.request("INVITE", "old", sdp("Playback", free_port(socket.SOCK_DGRAM), t))
    assert answer.startswith("SIP/2.0 404 No recording in that range"), answer


def test_playback_serves_past_retention_footage_under_an_evidence_hold(
    upper: Upper, client: TestClient, admin: dict[str, str], clip: Path, tmp_path: Path
) -> None:
    """A segment past retention is skipped (404) until a hold covers it; then it is served as
    any other, and its playback registered."""
    c = upper.container
    service = upward_config(c, tmp_path).service
    old = archive_at(c, upper.camera_id, clip, c.clock.now() - timedelta(days=800))
    assert service.playback(upper.camera_id, old, old + timedelta(seconds=10)) == []
    uac = Uac(upper)
    t = f"{int(old.timestamp())} {int(old.timestamp()) + 3}"
    refused = uac.request("INVITE", "unheld", sdp("Playback", free_port(socket.SOCK_DGRAM), t))
    assert refused.startswith("SIP/2.0 404 No recording in that range"), refused
    body = {"case_number": "2026-刑-812", "reason": "theft", "camera_ids": [upper.camera_id],
            "start": old.isoformat(), "end": (old + timedelta(seconds=10)).isoformat()}  # fmt: skip
    r = client.post(f"{API}/holds", json=body, headers=admin)
    assert r.status_code == 201, r.text
    [piece] = service.playback(upper.camera_id, old, old + timedelta(seconds=10))
    assert piece.segment.start_at == old
    rx = RtpReceiver("udp")
    ok = uac.request("INVITE", "held", sdp("Playback", rx.port, t))
    assert ok.startswith("SIP/2.0 200"), ok
    uac.request("ACK", "held", to_tag=to_tag(ok))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(rx.packets) < 60:
        time.sleep(0.1)
    assert uac.request("BYE", "held", to_tag=to_tag(ok)).startswith("SIP/2.0 200")
    time.sleep(0.3)
    check_stream(rx, tmp_path)
    [entry] = register_entries(upper, RegisterKind.PLAYBACK)
    assert entry.start == old and entry.ended_at is not None  # type: ignore[attr-defined]
    answers = {e["detail"]["call_id"]: e["detail"]["answer"] for e in invites(client, admin)}  # type: ignore[index]
    assert answers == {"unheld": 404, "held": 200}


def test_h265_footage_is_sent_as_ps_with_its_stream_type(tmp_path: Path) -> None:
    """FFmpeg's MPEG-2 PS muxer takes HEVC by stream copy; the map says 0x24."""
    hevc = tmp_path / "hevc.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x240:rate=25:duration=3", "-c:v", "libx265", "-preset",
         "ultrafast", "-x265-params", "log-level=error", "-g", "25", "-pix_fmt", "yuv420p",
         "-movflags", "+frag_keyframe+empty_moov+default_base_moof", str(hevc)],
        check=True,
    )  # fmt: skip
    rx = RtpReceiver("udp")
    channel = MediaChannel("127.0.0.1", ("127.0.0.1", rx.port), "udp")
    source = PlaybackSource([PlaybackFile(hevc)], "hevc", tmp_path / "scratch")
    ended = threading.Event()
    sender = PsSender(channel, int(SSRC), source, on_end=lambda _why: ended.set())
    sender.start()
    sender.go()
    assert ended.wait(15)  # three seconds in real time, then the end
    sender.stop()
    time.sleep(0.2)
    ps = rx.close()
    psm = ps.find(b"\x00\x00\x01\xbc")
    assert psm >= 0 and ps[psm + 12 : psm + 14] == b"\x24\xe0"
    (tmp_path / "got.ps").write_bytes(ps)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "mpeg", "-show_entries", "stream=codec_name",
         "-of", "csv=p=0", str(tmp_path / "got.ps")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert probe.stdout.strip() == "hevc"
    assert list(tmp_path.joinpath("scratch").iterdir()) == []  # the concat list is gone


def test_streams_to_one_platform_are_bounded_busy_here_past_the_limit(
    upper: Upper, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cascade_media, "MAX_DIALOGS", 1)
    start = archive(upper.container, upper.camera_id, clip, segments=1)
    uac = Uac(upper)
    t = f"{start} {start + 10}"
    ok = uac.request("INVITE", "b1", sdp("Playback", free_port(socket.SOCK_DGRAM), t))
    assert ok.startswith("SIP/2.0 200"), ok
    busy = uac.request("INVITE", "b2", sdp("Playback", free_port(socket.SOCK_DGRAM), t))
    assert busy.startswith("SIP/2.0 486 Busy Here"), busy
    assert uac.request("BYE", "b1", to_tag=to_tag(ok)).startswith("SIP/2.0 200")
    again = uac.request("INVITE", "b3", sdp("Playback", free_port(socket.SOCK_DGRAM), t))
    assert again.startswith("SIP/2.0 200"), again  # a BYE frees its place (never ACKed: fine)


def _ffmpeg_children() -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        name = fields[0].split("(", 1)[-1]
        if name == "ffmpeg" and int(fields[1].split()[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


def _reply_ok(u: Upper, within_s: float) -> str:
    """Wait for a request from Custos on the platform's socket and answer it 200."""
    u.sock.settimeout(within_s)
    raw, addr = u.sock.recvfrom(65_535)
    text = raw.decode()
    head, _, _ = text.partition("\r\n\r\n")
    keep = ("Via:", "From:", "To:", "Call-ID:", "CSeq:")
    lines = [x for x in head.split("\r\n")[1:] if x.startswith(keep)]
    u.sock.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n")
                  .encode(), addr)  # fmt: skip
    return text


@pytest.mark.slow
def test_a_playback_played_to_its_end_is_followed_by_media_status_121_in_its_dialog(
    upper: Upper, clip: Path
) -> None:
    start = archive(upper.container, upper.camera_id, clip, segments=1)
    uac = Uac(upper)
    rx = RtpReceiver("udp")
    ok = uac.request("INVITE", "end1", sdp("Playback", rx.port, f"{start + 7} {start + 9}"))
    assert ok.startswith("SIP/2.0 200"), ok
    uac.request("ACK", "end1", to_tag=to_tag(ok))
    notify = _reply_ok(upper, 10)  # two seconds of footage in real time, then the MESSAGE
    assert notify.startswith(f"MESSAGE sip:{UPPER_ID}@127.0.0.1:"), notify
    assert "Call-ID: end1\r\n" in notify and f";tag={to_tag(ok)}" in notify
    assert "<CmdType>MediaStatus</CmdType>" in notify and "<NotifyType>121</NotifyType>" in notify
    assert f"<DeviceID>{SHARED}</DeviceID>" in notify
    assert len(rx.packets) > 10
    rx.close()
    assert uac.request("BYE", "end1", to_tag=to_tag(ok)).startswith("SIP/2.0 200")
    [entry] = register_entries(upper, RegisterKind.PLAYBACK)
    assert entry.ended_at is not None  # type: ignore[attr-defined]


def test_a_stream_whose_media_connection_never_comes_is_ended_by_our_bye(
    upper: Upper, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ps_sender, "CONNECT_TIMEOUT_S", 0.5)
    start = archive(upper.container, upper.camera_id, clip, segments=1)
    uac = Uac(upper)
    offer = sdp("Playback", 9, f"{start} {start + 10}", "TCP/RTP/AVP", "a=setup:active")
    ok = uac.request("INVITE", "nocon", offer)
    assert ok.startswith("SIP/2.0 200") and "a=setup:passive" in ok, ok
    uac.request("ACK", "nocon", to_tag=to_tag(ok))  # and never connect to Custos's port
    bye = _reply_ok(upper, 5)
    assert bye.startswith("BYE ") and "Call-ID: nocon\r\n" in bye, bye
    assert upper.link.dialogs is not None and upper.link.dialogs.active == []
    [entry] = register_entries(upper, RegisterKind.PLAYBACK)
    assert entry.ended_at is not None  # type: ignore[attr-defined]
