"""Where a viewer attaches to a live tap: a Unix socket ``<live>/<camera>.<stream>.sock``
(docs/design/live.md, section 1), the recorder's user only (directory 0700, socket 0600).

Each connection is one subscription of the tap, written by its own thread: the init boxes, the
fragments of the current GOP, then each new fragment. Between them ``free`` boxes the cluster's
relay already reads (:mod:`custos.services.live_relay`): ``wait`` once no fragment came for
:data:`WAIT_S`, ``live`` when they come (again), and ``drop`` + the count when this viewer lost
fragments. When the tap closes (the session ended) the socket goes and every connection ends:
end of file is the viewer's sign to attach to the next session's socket.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from pathlib import Path

from custos.adapters.media.live_tap import QUEUE_BYTES, LiveTap, Subscription
from custos.services.live_relay import dropped_box, status_box

log = logging.getLogger(__name__)

WAIT_S = 2.0  # no fragment for this long: the viewer is told ``wait``
BACKLOG = 16


def live_socket_path(live_dir: Path, camera_id: int, stream: str = "main") -> Path:
    """The socket of a camera's tap (``stream``: ``main`` or ``sub``)."""
    if stream not in ("main", "sub"):
        raise ValueError("stream must be main or sub")
    return live_dir / f"{camera_id}.{stream}.sock"


class LiveTapServer:
    """Serve one tap on one socket path until :meth:`close`."""

    def __init__(
        self, tap: LiveTap, path: Path, queue_bytes: int = QUEUE_BYTES, wait_s: float = WAIT_S
    ) -> None:
        self._tap = tap
        self.path = path
        self._queue_bytes = queue_bytes
        self._wait_s = wait_s
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._closed = False
        self._inode: int | None = None
        self._server = self._listen()
        self._accepting = threading.Thread(
            target=self._accept, name=f"live-{path.name}", daemon=True
        )

    def start(self) -> LiveTapServer:
        self._accepting.start()
        return self

    def _listen(self) -> socket.socket:
        """Bind through ``/proc/self/fd`` of the directory: a Unix socket's address is at most
        107 bytes, a data directory's path may be longer. A stale socket (a session that died
        with its shard) is replaced."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path.parent.chmod(0o700)
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path.name, dir_fd=fd)
            server.bind(f"/proc/self/fd/{fd}/{self.path.name}")
            os.chmod(self.path.name, 0o600, dir_fd=fd)
            self._inode = os.stat(self.path.name, dir_fd=fd).st_ino
            server.listen(BACKLOG)
        except OSError:
            server.close()
            raise
        finally:
            os.close(fd)
        return server

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # closed
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self._conns.add(conn)
            sub = self._tap.subscribe(self._queue_bytes)
            threading.Thread(
                target=self._serve, args=(conn, sub), name=f"live-viewer-{self.path.name}",
                daemon=True,
            ).start()  # fmt: skip

    def _serve(self, conn: socket.socket, sub: Subscription) -> None:
        live: bool | None = None  # the status this viewer was told last
        dropped = 0
        try:
            while True:
                data = sub.get(self._wait_s)
                if data is None:
                    return  # the tap closed: end of file
                if not data:
                    if _peer_gone(conn):
                        return
                    if live is not False:
                        conn.sendall(status_box(False))
                        live = False
                    continue
                head = b""
                if live is not True:
                    head, live = status_box(True), True
                if sub.dropped != dropped:
                    dropped = sub.dropped
                    head += dropped_box(dropped)
                conn.sendall(head + data)
        except OSError:  # the viewer went
            return
        finally:
            sub.close()
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def close(self) -> None:
        """Stop accepting, remove the socket (if it is still ours), end every connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            conns = list(self._conns)
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._server.close()
        self._unlink()
        for conn in conns:  # a viewer that reads nothing no longer holds its writer
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _unlink(self) -> None:
        try:
            fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            if os.stat(self.path.name, dir_fd=fd).st_ino == self._inode:
                os.unlink(self.path.name, dir_fd=fd)
        except OSError:
            pass  # gone already, or replaced by the next session's: not ours to remove
        finally:
            os.close(fd)


def _peer_gone(conn: socket.socket) -> bool:
    """Whether the viewer closed its end (seen while nothing is sent to it)."""
    try:
        return conn.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def serve_live_tap(tap: LiveTap, path: Path) -> LiveTapServer | None:
    """The tap served on ``path``; None (logged) when the socket cannot be made: the camera is
    recorded all the same, and its viewers fall back to the file."""
    try:
        return LiveTapServer(tap, path).start()
    except OSError as exc:
        log.warning("live tap socket %s not served: %s", path.name, exc.strerror or exc)
        return None
