"""A recorder node's footage for the other servers of its cluster (docs/design/cluster.md, "Live
view and playback from any server"): a small HTTP server (the standard library's
``ThreadingHTTPServer``) on the node's ``--address``.

- ``GET /node/v1/live/{camera_id}``: the camera's live view as one chunked response. From the
  recorder's live tap when the camera has one here (``<live>/<camera>.main.sock``: a fragment
  per frame, docs/design/live.md), relayed as it comes until the recording session ends (the
  response ends with it: the reader asks again and gets the next session's tap). Otherwise
  the live tail of its file — the init boxes and the newest complete fragment, then each
  fragment as it is written, then the next file's init boxes (read by
  ``services/live_tail.py``). Both say between them, in a ``free`` box, ``live`` or ``wait``
  (fragments come, or not) when that changes and after :data:`HEARTBEAT_S` without anything
  else.
- ``GET /node/v1/segments/{index path}``: a sealed segment by the path the index holds, with one
  ``Range``.

Every request is signed with the cluster secret (``custos.domain.node_requests``): 401 unsigned,
403 too old or forged. Without ``CUSTOS_CLUSTER_SECRET`` the server is not started.

The recorder starts it with :func:`start_node_media` and stops it with
:meth:`NodeMediaServer.stop`.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from pathlib import Path
from typing import BinaryIO

from custos.adapters.storage.segment_files import SegmentStore, UnknownVolumeError, split_volume
from custos.config import Settings
from custos.domain.clock import Clock
from custos.domain.node_requests import (
    SIGNATURE_HEADER,
    TIME_HEADER,
    Verdict,
    split_address,
    verify,
)
from custos.services.live_relay import status_box
from custos.services.live_tail import LiveFollower, SegmentTail
from custos.services.recorder_leases import NodeIdentity

log = logging.getLogger(__name__)

PREFIX = "/node/v1"
LIVE = re.compile(rf"^{PREFIX}/live/([1-9][0-9]{{0,9}})$")
SEGMENT = re.compile(
    rf"^{PREFIX}/segments/((?:@v[1-9][0-9]{{0,3}}/)?[0-9]{{1,10}}/"
    r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}/[0-9]{1,12}\.mp4)$"
)
MAX_CAMERA_ID = 2**31 - 1
MAX_STREAMS = 64  # live tails served at once
HEARTBEAT_S = 2.0
POLL_S = 0.05  # while the camera's file grows; 0.5 s while it does not
TAP_READ_S = 0.5  # a read from a live tap: then look whether the server stops
IO_TIMEOUT_S = 30.0  # a request line, or one write to a reader that stopped reading
_CHUNK = 1 << 20


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range ``bytes=a-b`` / ``a-`` / ``-n`` asks of ``size`` bytes, as (first, last)
    inclusive; None for the whole file (no header, several ranges, or one not understood);
    ValueError when it cannot be satisfied (416)."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    if not dash or not (first_text + last_text).isdigit() or len(first_text + last_text) > 19:
        return None
    if not first_text:  # the last n bytes
        n = int(last_text)
        if n == 0 or size == 0:
            raise ValueError("an empty suffix range")
        return max(0, size - n), size - 1
    first = int(first_text)
    if first >= size:
        raise ValueError(f"range starts at {first}, past {size} bytes")
    last = int(last_text) if last_text else size - 1
    if last < first:
        return None
    return first, min(last, size - 1)


class NodeMediaServer:
    """The server; :meth:`start` serves in a thread of its own, :meth:`stop` ends it and every
    live tail it serves."""

    def __init__(
        self,
        host: str,
        port: int,
        secret: bytes,
        store: SegmentStore,
        clock: Clock,
        *,
        max_streams: int = MAX_STREAMS,
        heartbeat_s: float = HEARTBEAT_S,
        live_dir: Path | None = None,
    ) -> None:
        """``live_dir``: where the recorder's live taps listen (None: files only)."""
        if not secret:
            raise ValueError("a node's media server needs the cluster secret")
        self._secret = secret
        self._store = store
        self._clock = clock
        self._heartbeat_s = heartbeat_s
        self._live_dir = live_dir
        self._streams = threading.BoundedSemaphore(max_streams)
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """``host:port`` the server listens on (the port chosen when 0 was asked)."""
        host, port = self._httpd.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else host
        shown = f"[{text}]" if ":" in text else text
        return f"{shown}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="node-media", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    # ---- one request ----------------------------------------------------------------------------
    def handle(self, h: _Handler) -> None:
        verdict = verify(
            self._secret,
            h.command,
            h.path,
            h.headers.get(TIME_HEADER),
            h.headers.get(SIGNATURE_HEADER),
            self._clock.now().timestamp(),
        )
        if verdict is not Verdict.ACCEPTED:
            log.info("node media: %s %s from %s refused (%s)", h.command, h.path,
                     h.client_address[0], verdict)  # fmt: skip
            _plain(h, 401 if verdict is Verdict.UNSIGNED else 403, str(verdict))
            return
        if m := LIVE.match(h.path):
            self._live(h, int(m.group(1)))
        elif m := SEGMENT.match(h.path):
            self._segment(h, m.group(1))
        else:
            _plain(h, 404, "no such thing here")

    def _segment(self, h: _Handler, relative: str) -> None:
        f = self._open_sealed(relative)
        if f is None:
            _plain(h, 404, "no sealed segment at that path on this node")
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            try:
                wanted = byte_range(h.headers.get("Range"), size)
            except ValueError:
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{size}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            first, last = wanted if wanted is not None else (0, size - 1)
            h.send_response(200 if wanted is None else 206)
            h.send_header("Content-Type", "video/mp4")
            h.send_header("Accept-Ranges", "bytes")
            h.send_header("Content-Length", str(last - first + 1))
            if wanted is not None:
                h.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            h.end_headers()
            f.seek(first)
            left = last - first + 1
            while left > 0 and (block := f.read(min(_CHUNK, left))):
                h.wfile.write(block)
                left -= len(block)

    def _open_sealed(self, relative: str) -> BinaryIO | None:
        """The segment's file, opened, if it is sealed (read-only) and inside its volume."""
        try:
            volume, _inner = split_volume(relative)
            path = self._store.absolute(relative)
            root = self._store.volumes[volume].resolve()
            if not path.resolve().is_relative_to(root):
                return None
            f = path.open("rb")
        except (UnknownVolumeError, ValueError, OSError):
            return None
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode) or mode & 0o222:
            f.close()  # still being written (sealed files are read-only)
            return None
        return f

    def _live(self, h: _Handler, camera_id: int) -> None:
        if camera_id > MAX_CAMERA_ID:
            _plain(h, 404, "no such camera")
            return
        if not self._streams.acquire(blocking=False):
            _plain(h, 503, "too many live tails served now")
            return
        h.close_connection = True
        try:
            h.send_response(200)
            h.send_header("Content-Type", "video/mp4")
            h.send_header("Cache-Control", "no-store")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            tap = self._connect_tap(camera_id)
            if tap is not None:
                with tap:
                    self._relay_tap(h.wfile, tap)
            else:
                self._follow(h.wfile, LiveFollower(self._store.root, camera_id))
            h.wfile.write(b"0\r\n\r\n")
        except OSError:  # the reader left (broken pipe, reset, time-out)
            pass
        finally:
            self._streams.release()

    def _connect_tap(self, camera_id: int) -> socket.socket | None:
        """The camera's live tap on this node, connected; None when it has none."""
        if self._live_dir is None:
            return None
        path = self._live_dir / f"{camera_id}.main.sock"
        try:
            fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:  # through the directory's descriptor: a socket's address is at most 107 bytes
            conn.settimeout(TAP_READ_S)
            conn.connect(f"/proc/self/fd/{fd}/{path.name}")
        except OSError:
            conn.close()
            return None
        finally:
            os.close(fd)
        return conn

    def _relay_tap(self, out: BufferedIOBase, tap: socket.socket) -> None:
        """The tap's bytes as they come (its own ``free`` boxes included) until its session
        ends; ``wait`` after :data:`HEARTBEAT_S` of silence, as the file's tail says it."""
        quiet_since = time.monotonic()
        while not self._stopping.is_set():
            try:
                data = tap.recv(_CHUNK)
            except TimeoutError:
                if time.monotonic() - quiet_since >= self._heartbeat_s:
                    _chunk(out, status_box(False))  # also finds a reader that left
                    quiet_since = time.monotonic()
                continue
            if not data:
                return  # the recording session ended
            _chunk(out, data)
            quiet_since = time.monotonic()

    def _follow(self, out: BufferedIOBase, follower: LiveFollower) -> None:
        """What the browser's live view sends, in its order: init boxes, the state when it
        changes (or as a heartbeat), fragments."""
        last_sent = time.monotonic()
        state: bool | None = None
        while not self._stopping.is_set():
            sent = False
            for piece in follower.advance():
                data = piece.init if isinstance(piece, SegmentTail) else piece
                if data:
                    _chunk(out, data)
                    sent = True
            live = follower.live(time.time())
            if live != state or time.monotonic() - last_sent >= self._heartbeat_s:
                _chunk(out, status_box(live))
                state, sent = live, True
            if fragments := follower.fragments():
                _chunk(out, fragments)
                sent = True
            if sent:
                last_sent = time.monotonic()
                if fragments:
                    continue
            self._stopping.wait(POLL_S if live else 0.5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], media: NodeMediaServer) -> None:
        self.media = media
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "custos-node"
    sys_version = ""
    timeout = IO_TIMEOUT_S
    server: _Server

    def do_GET(self) -> None:
        self.server.media.handle(self)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("node media: " + format, *args)


def _plain(h: BaseHTTPRequestHandler, status: int, text: str) -> None:
    body = (text + "\n").encode()
    h.send_response(status)
    h.send_header("Content-Type", "text/plain; charset=utf-8")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def _chunk(out: BufferedIOBase, data: bytes) -> None:
    out.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    out.flush()


def start_node_media(
    settings: Settings, node: NodeIdentity, clock: Clock
) -> NodeMediaServer | None:
    """Serve this node's live tails and sealed segments on its address to the other servers of
    the cluster; None (and one line saying why) when there is no cluster secret or the address
    cannot be listened on — recording goes on either way."""
    if settings.cluster_secret is None:
        log.warning(
            "recorder node %s: CUSTOS_CLUSTER_SECRET is not set, so other servers cannot show "
            "its live view or play back its footage until it is offloaded",
            node.name,
        )
        return None
    try:
        host, port = split_address(node.address)
        server = NodeMediaServer(
            host,
            port,
            settings.cluster_secret.get_secret_value().encode(),
            SegmentStore(settings.resolved_media_dir(), settings.media_volumes),
            clock,
            live_dir=settings.resolved_live_dir(),
        )
    except (ValueError, OSError) as exc:
        log.error("recorder node %s: live view and footage not served at %s: %s",
                  node.name, node.address, exc)  # fmt: skip
        return None
    server.start()
    log.info("recorder node %s: live view and footage served to the cluster at %s",
             node.name, server.address)  # fmt: skip
    return server
