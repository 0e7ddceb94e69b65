"""Helpers of the upward-media tests (tests/api/test_gb_upward_sipp.py) and of
bench/gb_upward.py: the upper platform's side (a bare UAC, RTP receivers), a fake recorder
writing fragmented MP4 as the recorder does, and sealed footage."""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from custos.adapters.media.rtp import Deframer, RtpPacket
from custos.adapters.sip.cascade_link import UdpUpperLink
from custos.adapters.sip.cascade_media import UpwardMediaConfig
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.recording import Segment
from custos.domain.register import RegisterKind, RegisterQuery
from custos.domain.users import SYSTEM
from custos.services.gb_upward import GbUpwardService
from custos.services.live_tail import complete_boxes, fragments
from tests.api.builders import API, address_code
from tests.api.test_gb_cascade_sipp import CHONGQING, SCENARIOS, UPPER_ID
from tests.ports import free_port as free_port  # re-exported for the upward tests

SHARED, UNSHARED = address_code(CHONGQING, 1), address_code(CHONGQING, 6)
SSRC = "0500000042"


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


def serve_link(u: Upper) -> None:
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


def run_sipp(u: Upper, tmp: Path, fields: list[str]) -> tuple[int, str]:
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


def check_stream(rx: RtpReceiver, tmp: Path) -> None:
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


def register_entries(u: Upper, kind: RegisterKind) -> list[object]:
    return list(u.container.footage.register(SYSTEM, RegisterQuery(kind=kind)))


def invites(client: TestClient, admin: dict[str, str]) -> list[dict[str, object]]:
    log = client.get(f"{API}/audit/search?action=gb_cascade", headers=admin).json()["entries"]
    return [e["entry"] for e in log if e["entry"]["action"] == "gb_cascade.invite"]


def archive(c: Container, camera_id: int, clip: Path, segments: int = 3) -> int:
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


def to_tag(answer: str) -> str:
    to = next(line for line in answer.split("\r\n") if line.startswith("To:"))
    return to.split(";tag=")[1]


def media_port(answer: str) -> int:
    return int(next(x for x in answer.split("\r\n") if x.startswith("m=video")).split()[1])


def archive_at(c: Container, camera_id: int, clip: Path, at: datetime) -> datetime:
    store = SegmentStore(c.settings.resolved_media_dir())
    at = at.replace(microsecond=0)
    path = store.run_dir(camera_id, "20240101T000000Z-oldrun") / "000000.mp4"
    shutil.copyfile(clip, path)
    sealed = store.seal(path)
    c.recording.seal(
        Segment(None, camera_id, "20240101T000000Z-oldrun", 0, store.relative(path), at,
                at + timedelta(seconds=10), 10.0, sealed.bytes, sealed.sha256, "h264", 320, 240,
                c.clock.now())
    )  # fmt: skip
    return at
