"""Live video and playback for an upper platform (GB/T 28181, G4 "Upward"): SIPp as the upper
platform INVITEs a shared camera (tests/sipp/upper_media.xml), the test receives the RTP it was
promised (UDP, or TCP with RFC 4571), checks SSRC, payload type and sequence, and ffprobe reads the
PS as H.264; the register and the operation log hold the view. Refusals (403, 400, 404, 488, 481)
over a plain UDP socket. A missing `sipp`, `ffmpeg` or `ffprobe` fails the tests."""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custos.adapters.media.rtp import Deframer, RtpPacket
from custos.adapters.sip.cascade_link import LocalIdentity, UdpUpperLink
from custos.adapters.sip.cascade_media import UpwardMediaConfig
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.recording import Segment
from custos.domain.register import RegisterKind, RegisterQuery
from custos.domain.users import SYSTEM
from custos.services.gb_upward import GbUpwardService
from custos.services.live_tail import complete_boxes, fragments
from tests.api.access_world import make_clip
from tests.api.builders import API, address_code
from tests.api.test_gb_cascade_sipp import CHONGQING, CUSTOS_ID, SCENARIOS, UPPER_ID, _setup

SHARED, UNSHARED = address_code(CHONGQING, 1), address_code(CHONGQING, 6)
SSRC = "0500000042"


def _free(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Upper:
    """The upper platform's side: Custos's link serving it, the camera, the container."""

    container: Container
    link: UdpUpperLink
    sock: socket.socket  # the platform's SIP socket (the link answers only its address)
    camera_id: int
    platform_id: int
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def stop_serving(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(5)


def upward_config(container: Container, tmp: Path) -> UpwardMediaConfig:
    service = GbUpwardService(
        container.uow, container.gb_cascade, container.clock,
        SegmentStore(container.settings.resolved_media_dir()).absolute,
        container.retention.policy_in, container.requests.frozen_scopes,
    )  # fmt: skip
    return UpwardMediaConfig(
        service, container.settings.resolved_media_dir(), tmp / "scratch", container.clock
    )


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
    u.thread = threading.Thread(target=_serve, args=(u,), daemon=True)
    u.thread.start()
    yield u
    u.stop_serving()
    link.close()
    sock.close()


def _serve(u: Upper) -> None:
    while not u.stop.is_set():
        u.link.serve(0.1)


class Recorder:
    """Writes fragmented MP4 into the camera's run directory the way the recorder does: the
    init part, then a fragment a second, and a new file after ``per_file`` fragments."""

    def __init__(self, media: Path, camera_id: int, clip: Path, per_file: int = 4) -> None:
        data = clip.read_bytes()
        boxes = complete_boxes(data)
        moov = next(b for b in boxes if b.kind == b"moov")
        self.init = data[: moov.end]
        self.frags = [data[a:b] for a, b in fragments(boxes)]
        self.run = media / str(camera_id) / "20261207T000000Z-abcdef"
        self.run.mkdir(parents=True)
        self.per_file = per_file
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._write, daemon=True)

    def start(self) -> None:
        first = self.run / "000000.mp4"
        first.write_bytes(self.init + b"".join(self.frags[:2]))  # two fragments already there
        self._thread.start()

    def _write(self) -> None:
        seq, n, path = 0, 2, self.run / "000000.mp4"
        while not self.stop.wait(1.0):
            if n >= self.per_file:
                seq, n = seq + 1, 0
                path = self.run / f"{seq:06d}.mp4"
                path.write_bytes(self.init)
            with path.open("ab") as f:
                f.write(self.frags[n % len(self.frags)])
            n += 1


@pytest.fixture
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("upward-clip") / "clip.mp4")


class RtpReceiver:
    """The RTP port the SDP offers: UDP, TCP we listen on (the platform's setup:passive), or TCP
    we connect to (setup:active; call :meth:`connect` once the answer says where)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.packets: list[RtpPacket] = []
        self.first_at: float | None = None
        self._stop = threading.Event()
        stream = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, stream)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)  # a GOP at once
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        if kind == "tcp-listen":
            self.sock.listen(1)
        self._thread = threading.Thread(target=self._run, daemon=True)
        if kind != "tcp-connect":
            self._thread.start()

    def connect(self, port: int) -> None:
        self.sock.connect(("127.0.0.1", port))
        self._thread.start()

    def _run(self) -> None:
        sock = self.sock
        if self.kind == "tcp-listen":
            sock.settimeout(15)
            sock, _ = self.sock.accept()
        with sock:
            self._receive(sock)

    def _receive(self, sock: socket.socket) -> None:
        sock.settimeout(0.2)
        deframer = Deframer()
        while not self._stop.is_set():
            try:
                data = sock.recv(65_536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            raw = [data] if self.kind == "udp" else deframer.feed(data)
            if raw and self.first_at is None:
                self.first_at = time.monotonic()
            self.packets += [RtpPacket.parse(p) for p in raw]

    def close(self) -> bytes:
        self._stop.set()
        self._thread.join(3) if self._thread.is_alive() else None
        self.sock.close()
        return b"".join(p.payload for p in self.packets)


def _sipp(u: Upper, tmp: Path, fields: list[str]) -> tuple[int, str]:
    inf = tmp / "media.csv"
    inf.write_text("SEQUENTIAL\n" + ";".join(fields) + "\n")
    trace = tmp / "media.msg"
    cmd = [
        "sipp", f"127.0.0.1:{u.link.local_port}", "-sf", str(SCENARIOS / "upper_media.xml"),
        "-inf", str(inf), "-i", "127.0.0.1", "-p", str(u.sock.getsockname()[1]), "-t", "u1",
        "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error", "-recv_timeout", "8000",
        "-trace_msg", "-message_file", str(trace),
    ]  # fmt: skip
    u.sock.close()  # SIPp takes the platform's address (the link answers only it)
    out = subprocess.run(cmd, cwd=tmp, capture_output=True, timeout=40, check=False)
    text = trace.read_text(errors="replace") if trace.exists() else ""
    return out.returncode, text + out.stdout.decode(errors="replace")[-2000:]


def _check_stream(rx: RtpReceiver, tmp: Path) -> None:
    ps = rx.close()
    assert len(rx.packets) > 20
    assert {p.ssrc for p in rx.packets} == {int(SSRC)}
    assert {p.payload_type for p in rx.packets} == {96}
    seqs = [p.sequence for p in rx.packets]
    steps = [(b - a) % 65536 for a, b in itertools.pairwise(seqs)]
    assert all(s == 1 for s in steps), [(i, s) for i, s in enumerate(steps) if s != 1][:20]
    stamps = [p.timestamp for p in rx.packets]  # from the SCR: never back, across files too
    assert all(b >= a for a, b in itertools.pairwise(stamps)), stamps
    psm = ps.find(b"\x00\x00\x01\xbc")  # the program stream map a GB receiver reads
    assert psm >= 0 and ps[psm + 12 : psm + 14] == b"\x1b\xe0", ps[psm : psm + 20].hex()
    assert b"\x00\x00\x01\xe0" in ps and b"\x00\x00\x01\xe2" not in ps
    (tmp / "got.ps").write_bytes(ps)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-f", "mpeg", "-show_entries", "stream=codec_name,width",
         "-of", "csv=p=0", str(tmp / "got.ps")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert probe.stdout.strip().splitlines() == ["h264,320"], probe.stdout + probe.stderr


def _register(u: Upper, kind: RegisterKind) -> list[object]:
    return list(u.container.footage.register(SYSTEM, RegisterQuery(kind=kind)))


def _invites(client: TestClient, admin: dict[str, str]) -> list[dict[str, object]]:
    log = client.get(f"{API}/audit/search?action=gb_cascade", headers=admin).json()["entries"]
    return [e["entry"] for e in log if e["entry"]["action"] == "gb_cascade.invite"]


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
        rc, trace = _sipp(upper, tmp_path, fields)
    finally:
        recorder.stop.set()
    assert rc == 0, trace[-4000:]
    assert "a=sendonly" in trace and f"y={SSRC}" in trace
    if rx_kind == "tcp-listen":
        assert "a=setup:active" in trace  # the platform listens: Custos connects
    time.sleep(0.3)
    _check_stream(rx, tmp_path)
    assert upper.link.dialogs is not None and upper.link.dialogs.active == []
    [entry] = _register(upper, RegisterKind.LIVE_VIEW)
    assert UPPER_ID in entry.organ and entry.camera_ids == (upper.camera_id,)  # type: ignore[attr-defined]
    assert entry.ended_at is not None and entry.persons[0].credential == f"gb:{UPPER_ID}"  # type: ignore[attr-defined]
    [invite] = _invites(client, admin)
    assert invite["outcome"] == "ok" and invite["actor"] == f"gb:{UPPER_ID}"
    assert invite["detail"]["answer"] == 200  # type: ignore[index]


def _archive(c: Container, camera_id: int, clip: Path, segments: int = 3) -> int:
    """Sealed 10-s segments an hour ago; returns the first one's start (Unix seconds)."""
    store = SegmentStore(c.settings.resolved_media_dir())
    start = (c.clock.now() - timedelta(hours=1)).replace(microsecond=0)
    for seq in range(segments):
        path = store.run_dir(camera_id, "20200101T000000Z-archiv") / f"{seq:06d}.mp4"
        shutil.copyfile(clip, path)
        sealed = store.seal(path)
        at = start + timedelta(seconds=10 * seq)
        c.recording.seal(
            Segment(
                None, camera_id, "20200101T000000Z-archiv", seq, store.relative(path), at,
                at + timedelta(seconds=10), 10.0, sealed.bytes, sealed.sha256, "h264", 320, 240,
                c.clock.now(),
            )
        )  # fmt: skip
    return int(start.timestamp())


@pytest.mark.slow
def test_an_upper_platform_plays_back_a_recorded_range_in_real_time(
    upper: Upper, client: TestClient, admin: dict[str, str], clip: Path, tmp_path: Path
) -> None:
    start = _archive(upper.container, upper.camera_id, clip)
    rx = RtpReceiver("udp")
    fields = [SHARED, UPPER_ID, UPPER_ID[:10], str(rx.port), "Playback",
              f"{start + 5} {start + 25}", "RTP/AVP", "recvonly", "0", SSRC]  # fmt: skip
    rc, trace = _sipp(upper, tmp_path, fields)
    assert rc == 0, trace[-4000:]
    time.sleep(0.3)
    _check_stream(rx, tmp_path)
    # -re: five seconds of the range in the five seconds before the BYE, not all twenty
    stamps = [p.timestamp for p in rx.packets]
    assert 3 * 90_000 < max(stamps) - min(stamps) < 8 * 90_000
    [entry] = _register(upper, RegisterKind.PLAYBACK)
    assert entry.start is not None and int(entry.start.timestamp()) == start + 5  # type: ignore[attr-defined]
    assert entry.ended_at is not None  # type: ignore[attr-defined]


class Uac:
    """A bare UDP SIP client as the upper platform, for the refusals and the TCP-active case."""

    def __init__(self, u: Upper) -> None:
        self.u = u
        self.n = 0

    def request(
        self, method: str, call: str, body: str = "", to_tag: str = "", channel: str = SHARED
    ) -> str:
        self.n += 1
        port = self.u.sock.getsockname()[1]
        tag = f";tag={to_tag}" if to_tag else ""
        text = (
            f"{method} sip:{channel}@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call}{self.n}\r\n"
            f"From: <sip:{UPPER_ID}@{UPPER_ID[:10]}>;tag=up{call}\r\n"
            f"To: <sip:{channel}@{UPPER_ID[:10]}>{tag}\r\nCall-ID: {call}\r\n"
            f"CSeq: {self.n} {method}\r\nContact: <sip:{UPPER_ID}@127.0.0.1:{port}>\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        self.u.sock.sendto(text.encode(), ("127.0.0.1", self.u.link.local_port))
        if method == "ACK":
            return ""
        self.u.sock.settimeout(5)
        return self.u.sock.recv(65_535).decode()


def sdp(session: str, port: int, t: str = "0 0", proto: str = "RTP/AVP", extra: str = "") -> str:
    lines = ["v=0", f"o={UPPER_ID} 0 0 IN IP4 127.0.0.1", f"s={session}", f"u={SHARED}:0",
             "c=IN IP4 127.0.0.1", f"t={t}", f"m=video {port} {proto} 96", "a=recvonly",
             "a=rtpmap:96 PS/90000", *([extra] if extra else []), f"y={SSRC}"]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"


def _to_tag(answer: str) -> str:
    to = next(line for line in answer.split("\r\n") if line.startswith("To:"))
    return to.split(";tag=")[1]


def _media_port(answer: str) -> int:
    return int(next(x for x in answer.split("\r\n") if x.startswith("m=video")).split()[1])


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
        uac.request("ACK", "tcpa", to_tag=_to_tag(ok))
        rx.connect(_media_port(ok))
        time.sleep(4)
        bye = uac.request("BYE", "tcpa", to_tag=_to_tag(ok))
        assert bye.startswith("SIP/2.0 200"), bye
    finally:
        recorder.stop.set()
    _check_stream(rx, tmp_path)


def test_refusals_unshared_bad_sdp_download_not_recording_no_footage_and_unknown_bye(
    upper: Upper, client: TestClient, admin: dict[str, str], tmp_path: Path
) -> None:
    uac = Uac(upper)
    port = _free(socket.SOCK_DGRAM)
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
    logged = {e["detail"]["call_id"]: e for e in _invites(client, admin)}  # type: ignore[index]
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
            uac.request("ACK", f"many{n}", to_tag=_to_tag(ok))
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
    for rx in receivers:
        _check_stream(rx, tmp_path)
    entries = _register(upper, RegisterKind.LIVE_VIEW)
    assert len(entries) == 3 and all(e.ended_at is not None for e in entries)  # type: ignore[attr-defined]
    log = client.get(f"{API}/audit/search?action=gb_upward", headers=admin).json()["entries"]
    closed = [e["entry"] for e in log if e["entry"]["action"] == "gb_upward.live_view.close"]
    assert [e["detail"]["reason"] for e in closed] == ["cascade link stopped"] * 3
