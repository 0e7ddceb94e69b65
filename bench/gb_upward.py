"""GB/T 28181 upward media: how long an upper platform waits between its INVITE and the first RTP
packet, for live video and for playback. Not part of the test suite.

    .venv/bin/python -m bench.gb_upward            # 20 tries of each
    .venv/bin/python -m bench.gb_upward --tries 50

Custos (SQLite) serves one shared camera on a cascade link (UDP); the upper platform is a UDP
socket in this process that sends INVITE, ACK on the 200, waits for the first RTP packet on its
media port, then BYE. Live: a fake recorder appends a fragment (a 1-s GOP, 320x240 H.264) a second
to the camera's file in flight. Playback: three sealed 10-s segments an hour old, the range
starting 5 s into the first. Printed: INVITE → 200, ACK → first packet, INVITE → first packet
(p50, p90, p99, max) in milliseconds.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from tests.api.access_world import make_clip
from tests.api.builders import address_code, credit_code
from tests.api.gb_upward_support import Recorder, upward_config

from custos.adapters.db.migrate import upgrade
from custos.adapters.sip.cascade_link import LocalIdentity, UdpUpperLink
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.gb_cascade import Transport
from custos.domain.kinds import PublicPlaceArticle, UnitKind
from custos.domain.recording import Segment
from custos.domain.users import Principal
from custos.services.gb_cascade import PlatformInput
from custos.services.registry import CameraInput, SiteInput, UnitInput

ADMIN = Principal(1, "admin", Role.ADMIN, None)
CUSTOS, UPPER = "50010300002000000001", "50000000002005000001"
CAMERA = address_code("500103", 1)


def _world(c: Container, port: int) -> int:
    unit = c.registry.create_unit(ADMIN, UnitInput("Bench", credit_code(8), UnitKind.ENTERPRISE))
    site = c.registry.create_site(
        ADMIN,
        SiteInput(unit.id or 0, "Bench site", "500103", "渝中区某路1号", True,
                  PublicPlaceArticle.ART7_P2, categories=["shopping_mall"]),
    )  # fmt: skip
    data = PlatformInput("bench", UPPER, UPPER[:10], "127.0.0.1", port, Transport.UDP,
                         "bench-pw", 600, 300, True)  # fmt: skip
    pid = c.gb_cascade.create(ADMIN, data).platform.id or 0
    cam = c.registry.create_camera(
        ADMIN,
        CameraInput(site_id=site.id or 0, address_code=CAMERA, name="通道1",
                    location_categories=["shopping_mall"]),
    )  # fmt: skip
    c.gb_cascade.share(ADMIN, pid, cam.id or 0)
    return cam.id or 0


def _archive(c: Container, camera_id: int, clip: Path) -> int:
    store = SegmentStore(c.settings.resolved_media_dir())
    start = (c.clock.now() - timedelta(hours=1)).replace(microsecond=0)
    for seq in range(3):
        path = store.run_dir(camera_id, "20200101T000000Z-benchx") / f"{seq:06d}.mp4"
        path.write_bytes(clip.read_bytes())
        sealed = store.seal(path)
        at = start + timedelta(seconds=10 * seq)
        c.recording.seal(
            Segment(None, camera_id, "20200101T000000Z-benchx", seq, store.relative(path), at,
                    at + timedelta(seconds=10), 10.0, sealed.bytes, sealed.sha256, "h264", 320,
                    240, c.clock.now())
        )  # fmt: skip
    return int(start.timestamp())


class Platform:
    def __init__(self, sip: socket.socket, link_port: int) -> None:
        self.sip = sip
        self.link_port = link_port
        self.n = 0

    def send(self, method: str, call: str, body: str = "", to_tag: str = "") -> None:
        self.n += 1
        port = self.sip.getsockname()[1]
        tag = f";tag={to_tag}" if to_tag else ""
        text = (
            f"{method} sip:{CAMERA}@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call}{self.n}\r\n"
            f"From: <sip:{UPPER}@{UPPER[:10]}>;tag=b{call}\r\nTo: <sip:{CAMERA}@x>{tag}\r\n"
            f"Call-ID: {call}\r\nCSeq: {self.n} {method}\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        self.sip.sendto(text.encode(), ("127.0.0.1", self.link_port))

    def answer(self) -> str:
        self.sip.settimeout(10)
        return self.sip.recv(65_535).decode()


def _sdp(session: str, port: int, t: str) -> str:
    return "\r\n".join([
        "v=0", f"o={UPPER} 0 0 IN IP4 127.0.0.1", f"s={session}", f"u={CAMERA}:0",
        "c=IN IP4 127.0.0.1", f"t={t}", f"m=video {port} RTP/AVP 96", "a=recvonly",
        "a=rtpmap:96 PS/90000", "y=0500000001",
    ]) + "\r\n"  # fmt: skip


def _try(p: Platform, call: str, session: str, t: str) -> tuple[float, float, float]:
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rtp.bind(("127.0.0.1", 0))
    rtp.settimeout(10)
    try:
        t0 = time.perf_counter()
        p.send("INVITE", call, _sdp(session, rtp.getsockname()[1], t))
        ok = p.answer()
        t1 = time.perf_counter()
        assert ok.startswith("SIP/2.0 200"), ok.split("\r\n")[0]
        tag = next(x for x in ok.split("\r\n") if x.startswith("To:")).split(";tag=")[1]
        p.send("ACK", call, to_tag=tag)
        rtp.recv(2048)
        t2 = time.perf_counter()
        p.send("BYE", call, to_tag=tag)
        bye = p.answer()
        assert bye.startswith("SIP/2.0 200"), bye
        return (t1 - t0) * 1000, (t2 - t1) * 1000, (t2 - t0) * 1000
    finally:
        rtp.close()


def _show(label: str, rows: list[tuple[float, float, float]]) -> None:
    def q(values: list[float]) -> str:
        s = sorted(values)

        def pick(f: float) -> float:
            return s[min(len(s) - 1, int(f * len(s)))]

        return (f"p50 {statistics.median(s):6.1f}  p90 {pick(0.9):6.1f}  p99 {pick(0.99):6.1f}"
                f"  max {s[-1]:6.1f}")  # fmt: skip

    print(f"{label} ({len(rows)} tries, ms)")
    for i, name in enumerate(("INVITE → 200", "ACK → first RTP", "INVITE → first RTP")):
        print(f"  {name:20s} {q([r[i] for r in rows])}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=20)
    tries = max(1, min(ap.parse_args().tries, 1000))
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        settings = Settings(data_dir=tmp / "data")
        upgrade(settings.resolved_database_url())
        c = bootstrap(settings)
        sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sip.bind(("127.0.0.1", 0))
        camera_id = _world(c, sip.getsockname()[1])
        clip = make_clip(tmp / "clip.mp4")
        [platform] = c.gb_cascade.enabled_platforms()
        link = UdpUpperLink(platform, LocalIdentity(CUSTOS, CUSTOS[:10]), c.gb_cascade,
                            "127.0.0.1", contact_host="127.0.0.1",
                            media=upward_config(c, tmp))  # fmt: skip
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                link.serve(0.05)

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        recorder = Recorder(c.settings.resolved_media_dir(), camera_id, clip, per_file=10**6)
        recorder.start()
        start = _archive(c, camera_id, clip)
        p = Platform(sip, link.local_port)
        try:
            live = [_try(p, f"live{i}", "Play", "0 0") for i in range(tries)]
            back = [
                _try(p, f"back{i}", "Playback", f"{start + 5} {start + 25}") for i in range(tries)
            ]
        finally:
            recorder.stop.set()
            stop.set()
            server.join(5)
            link.close()
            c.close()
        _show("live", live)
        _show("playback", back)


if __name__ == "__main__":
    main()
