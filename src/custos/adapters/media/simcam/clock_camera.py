"""Simulated RTSP cameras that burn their own wall-clock time into every frame, for measuring how
far behind real time the duty wall is (``bench/live_delay.py``).

Run with Debian's Python (it needs ``gi``), not the Custos virtualenv::

    /usr/bin/python3 clock_camera.py --port 8554 --mounts 16 --gop-s 2 [--codec h265] [--sub]

Mounts ``rtsp://host:port/clock1`` … ``/clock<N>``, each an ``appsrc`` fed with raw I420 frames and
encoded live (x264 ``ultrafast``/``zerolatency``, or x265 with ``--codec h265``; a keyframe every
``--gop-s`` seconds, no B-frames). With ``--sub`` each mount also has ``/clock<N>-sub`` at half the
size, as a camera's sub stream. The line ``ready`` on standard output means it is listening.

The time code: the moment a frame is handed to the encoder (``time.time()``, milliseconds since the
epoch, 48 bits) is drawn as black and white blocks in a band at the top-left of the picture, where
a real camera burns its clock. With ``s = width // 40`` the band starts at ``(s, s)`` and holds two
rows of 30 cells of ``s × s`` pixels, read left to right, top row first::

    1 0 | 48 bits of the time, most significant first | CRC-8 (poly 0x07) of its 6 bytes | 0 1

White is 1. A reader (the bench's page script, ``read_code`` below) samples each cell's centre; the
two markers and the CRC tell a bad read (a frame still being built up, a scaled copy) from a good
one. Cheap by design: the frame is built once; per frame only the band's rows and a moving bar (so
that the stream is not all skipped blocks) are rewritten. Measured at 640x360, 25 fps: 2.5-3.6 %
of a core per H.264 camera (16 at once), 12-14 % per H.265 one (x265 is the cost).

This file is a stand-alone program: it imports only the standard library and ``gi``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

BLACK, WHITE, GREY = 16, 235, 128  # video-range luma
CELLS_PER_ROW = 30
BITS = 48


def crc8(data: bytes) -> int:
    """CRC-8 with polynomial 0x07 (no reflection, start 0)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def code_bits(ms: int) -> list[int]:
    """The 60 cells of the band for a time in milliseconds since the epoch."""
    raw = ms.to_bytes(6, "big")
    value = [(ms >> (BITS - 1 - i)) & 1 for i in range(BITS)]
    check = [(crc8(raw) >> (7 - i)) & 1 for i in range(8)]
    return [1, 0, *value, *check, 0, 1]


def cell_size(width: int) -> int:
    return max(2, width // 40)


def read_code(luma: bytes, width: int) -> int | None:
    """The time code of a decoded frame's luma plane (``width`` bytes a row), or None when the
    markers or the CRC do not match (a bad read)."""
    s = cell_size(width)
    bits = []
    for cell in range(2 * CELLS_PER_ROW):
        row, col = divmod(cell, CELLS_PER_ROW)
        x = s + col * s + s // 2
        y = s + row * s + s // 2
        bits.append(1 if luma[y * width + x] > GREY else 0)
    if bits[:2] != [1, 0] or bits[-2:] != [0, 1]:
        return None
    ms = int("".join(map(str, bits[2 : 2 + BITS])), 2)
    check = int("".join(map(str, bits[2 + BITS : 2 + BITS + 8])), 2)
    return ms if crc8(ms.to_bytes(6, "big")) == check else None


class ClockFrame:
    """One camera's I420 picture, built once; ``stamp`` rewrites only the code band and the bar."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.s = cell_size(width)
        self._rows = [bytes([40 + (150 * y) // height]) * width for y in range(height)]
        chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)
        self.frame = bytearray(b"".join(self._rows) + chroma)  # a soft gradient, not flat
        self._bar_row = bytes([220]) * width
        self._bar_h = max(2, height // 20)
        self._bar_top = 3 * self.s + 1  # below the band
        self._bar = 0
        self._white_cell = bytes([WHITE]) * self.s
        self._black_cell = bytes([BLACK]) * self.s

    def _bar_at(self) -> int:
        return self._bar_top + self._bar % (self.height - self._bar_top - self._bar_h)

    def stamp(self, ms: int) -> bytes:
        """The frame (a copy) carrying ``ms`` in its band."""
        w, s = self.width, self.s
        cells = code_bits(ms)
        for row in range(2):
            line = b"".join(
                self._white_cell if bit else self._black_cell
                for bit in cells[row * CELLS_PER_ROW : (row + 1) * CELLS_PER_ROW]
            )
            for dy in range(s):
                start = (s + row * s + dy) * w + s
                self.frame[start : start + len(line)] = line
        # the bar: whole rows moving down 4 px a frame, so the stream is not all skipped blocks
        old = self._bar_at()
        for y in range(old, old + self._bar_h):
            self.frame[y * w : (y + 1) * w] = self._rows[y]
        self._bar += 4
        new = self._bar_at()
        for y in range(new, new + self._bar_h):
            self.frame[y * w : (y + 1) * w] = self._bar_row
        return bytes(self.frame)


def encoder(codec: str, gop: int) -> str:
    """The encoder part of a mount's pipeline: live settings, a keyframe every ``gop`` frames."""
    if codec == "h264":
        return (
            "x264enc tune=zerolatency speed-preset=ultrafast bitrate=600 threads=1 "
            f"key-int-max={gop} bframes=0 "
            "! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=1"
        )
    return (
        "x265enc tune=zerolatency speed-preset=ultrafast bitrate=600 "
        f"key-int-max={gop} option-string=bframes=0:repeat-headers=1:pools=1:frame-threads=1 "
        "! h265parse config-interval=-1 ! rtph265pay name=pay0 pt=96 config-interval=1"
    )


def serve(args: argparse.Namespace) -> None:
    import gi  # type: ignore[import-not-found, unused-ignore]

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import (  # type: ignore[import-not-found, unused-ignore]
        GLib,
        Gst,
        GstRtspServer,
    )

    Gst.init(None)
    if args.codec == "h265" and Gst.ElementFactory.find("x265enc") is None:
        raise SystemExit("no x265enc here (gstreamer1.0-plugins-bad); --codec h265 cannot run")
    width, height = (int(v) for v in args.size.split("x"))
    fps, gop = args.fps, max(1, round(args.gop_s * args.fps))

    class Feeder:
        """Pushes a freshly stamped frame into one appsrc at the frame rate."""

        def __init__(self, appsrc: Any, w: int, h: int) -> None:
            self._src = appsrc
            self._frame = ClockFrame(w, h)
            self._period = 1.0 / fps
            self._duration = Gst.SECOND // fps
            self._started = time.monotonic()
            self._sent = 0
            self._ms = 0
            GLib.timeout_add(5, self._tick)

        def _tick(self) -> bool:
            due = int((time.monotonic() - self._started) / self._period) + 1
            if due - self._sent > fps:  # starved for a second (a loaded machine): skip, as a camera
                self._sent = due - 1
            while self._sent < due:
                # frames pushed in one late tick still carry distinct, rising times
                self._ms = max(round(time.time() * 1000), self._ms + 1)
                buf = Gst.Buffer.new_wrapped(self._frame.stamp(self._ms))
                buf.duration = self._duration
                if self._src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                    return False  # the media was torn down: stop feeding it
                self._sent += 1
            return True

    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    feeders: list[Feeder] = []
    sizes = [("", width, height)]
    if args.sub:
        sizes.append(("-sub", width // 2 // 2 * 2, height // 2 // 2 * 2))
    for n in range(1, args.mounts + 1):
        for suffix, w, h in sizes:
            launch = (
                "( appsrc name=src is-live=true do-timestamp=true format=time "
                f"caps=video/x-raw,format=I420,width={w},height={h},framerate={fps}/1 "
                f"! queue max-size-buffers=2 leaky=downstream ! {encoder(args.codec, gop)} )"
            )
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(launch)
            factory.set_shared(True)

            def configure(_factory: Any, media: Any, w: int = w, h: int = h) -> None:
                appsrc = media.get_element().get_child_by_name("src")
                feeders.append(Feeder(appsrc, w, h))

            factory.connect("media-configure", configure)
            server.get_mount_points().add_factory(f"/clock{n}{suffix}", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on {args.host}:{args.port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mounts", type=int, default=1, help="serve /clock1 … /clock<N>")
    p.add_argument("--gop-s", type=float, default=2.0, help="seconds between keyframes")
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the main stream")
    p.add_argument("--codec", choices=("h264", "h265"), default="h264")
    p.add_argument("--sub", action="store_true", help="also serve /clock<N>-sub at half size")
    serve(p.parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
