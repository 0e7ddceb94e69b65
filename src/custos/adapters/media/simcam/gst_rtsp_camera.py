"""Simulated RTSP cameras: GStreamer's RTSP server replaying a pre-encoded H.264 clip.

Run with Debian's Python (it needs ``gi``), not the Custos virtualenv::

    /usr/bin/python3 gst_rtsp_camera.py --port 8554 --clip clip.h264 --mounts cam1 cam2

Each mount ``rtsp://host:port/<mount>`` is one camera. The clip is an Annex B H.264 (or, with
``--codec h265``, H.265) stream whose access units start with an access-unit delimiter (see
``clip.py``); it is replayed in a loop at its frame rate, timestamped on arrival, so the stream is
live and never ends. With ``--sub-clip`` each mount also has a sub stream ``<mount>-sub`` replaying
that (smaller) clip, as a camera's second stream. ``--user``/``--password`` require RTSP basic
authentication. Each
``--audio-mounts`` mount serves an audio-only stream (Opus, no video at all). SIGUSR1 freezes every
stream (connections stay open, no more media is sent) and the next SIGUSR1 thaws them. The line
``ready`` on standard output means it is listening.

This file is a stand-alone program: it imports only the standard library and ``gi``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any

import gi  # type: ignore[import-not-found, unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-not-found, unused-ignore]  # noqa: E402

#: The access-unit delimiter, start code included: NAL type 9 (H.264), 35 (H.265).
AUD = {"h264": b"\x00\x00\x00\x01\x09", "h265": b"\x00\x00\x00\x01\x46\x01"}


def access_units(clip: bytes, codec: str = "h264") -> list[bytes]:
    """Split an Annex B stream at its access-unit delimiters."""
    aud = AUD[codec]
    starts = []
    i = clip.find(aud)
    while i != -1:
        starts.append(i)
        i = clip.find(aud, i + 1)
    if not starts:
        raise SystemExit("clip has no access-unit delimiters; encode it with clip.py")
    return [clip[a:b] for a, b in zip(starts, [*starts[1:], len(clip)], strict=True)]


class Freezer:
    """SIGUSR1 toggles: while frozen, no stream sends media (its connections stay open)."""

    def __init__(self) -> None:
        self.frozen = False

    def toggle(self) -> bool:
        self.frozen = not self.frozen
        return True  # keep the signal handler


class ClipFeeder:
    """Pushes the clip's access units into one appsrc at the clip's frame rate."""

    def __init__(self, appsrc: Any, units: list[bytes], fps: int, freezer: Freezer) -> None:
        self._src = appsrc
        self._units = units
        self._period = 1.0 / fps
        self._duration = Gst.SECOND // fps
        self._started = time.monotonic()
        self._sent = 0
        self._freezer = freezer
        GLib.timeout_add(10, self._tick)

    def _tick(self) -> bool:
        due = int((time.monotonic() - self._started) / self._period) + 1
        if self._freezer.frozen:
            self._sent = due  # what would have been sent while frozen is lost, as on a camera
            return True
        while self._sent < due:
            unit = self._units[self._sent % len(self._units)]
            buf = Gst.Buffer.new_wrapped(unit)
            buf.duration = self._duration
            if self._src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                return False  # the media was torn down: stop feeding it
            self._sent += 1
        return True


def serve(args: argparse.Namespace) -> None:
    Gst.init(None)
    with open(args.clip, "rb") as f:
        units = access_units(f.read(), args.codec)
    sub_units: list[bytes] = []
    if args.sub_clip:
        with open(args.sub_clip, "rb") as f:
            sub_units = access_units(f.read(), args.codec)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    codec = args.codec  # h264 or h265: the caps, parser and payloader share the name
    launch = (
        "( appsrc name=src is-live=true do-timestamp=true format=time "
        f"caps=video/x-{codec},stream-format=byte-stream,alignment=au,framerate={args.fps}/1 "
        f"! {codec}parse config-interval=-1 ! rtp{codec}pay name=pay0 pt=96 config-interval=1 )"
    )
    audio_launch = (
        "( audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=48000,channels=1 "
        "! opusenc ! rtpopuspay name=pay0 pt=97 )"
    )
    feeders: list[ClipFeeder] = []
    freezer = Freezer()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, freezer.toggle)

    def configure(_factory: Any, media: Any, clip_units: list[bytes]) -> None:
        appsrc = media.get_element().get_child_by_name("src")
        feeders.append(ClipFeeder(appsrc, clip_units, args.fps, freezer))

    videos = [(m, units) for m in args.mounts]
    if sub_units:
        videos += [(f"{m}-sub", sub_units) for m in args.mounts]
    mounts = [(m, launch, u) for m, u in videos]
    mounts += [(m, audio_launch, []) for m in args.audio_mounts]
    for mount, pipeline, clip_units in mounts:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(pipeline)
        factory.set_shared(True)
        if pipeline is launch:
            factory.connect("media-configure", configure, clip_units)
        if args.user:
            factory.add_role_from_structure(
                Gst.Structure.from_string(
                    f"user,{GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS}=(boolean)true,"
                    f"{GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT}=(boolean)true"
                )[0]
            )
        server.get_mount_points().add_factory(f"/{mount}", factory)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()  # what the user may do: act in the role "user"
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on {args.host}:{args.port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--clip", required=True)
    p.add_argument("--sub-clip", default=None)
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--codec", choices=sorted(AUD), default="h264")
    p.add_argument("--mounts", nargs="*", default=["cam"])
    p.add_argument("--audio-mounts", nargs="*", default=[])
    p.add_argument("--user", default=None)
    p.add_argument("--password", default="")
    serve(p.parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
