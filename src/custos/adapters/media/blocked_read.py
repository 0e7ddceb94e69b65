"""Free a thread that waits inside FFmpeg on a socket that will never deliver media (Linux).

A camera that stops sending video but keeps its RTSP connection alive (RTCP reports keep
arriving) never trips FFmpeg's socket time-out, and ``av_read_frame`` loops inside FFmpeg,
without the GIL, for ever. ffmpeg itself is freed by its interrupt callback on SIGTERM; PyAV's
interrupt callback takes the GIL on every check of every read (measured: 4–5× the CPU), so it
is not used while reading. Instead, when a session has been asked to stop and has not, the
shard asks the kernel what its thread waits on (``/proc/self/task/TID/syscall``: ``poll`` with
a pointer to its ``pollfd`` array, or a ``read``/``recv*`` with the descriptor) and shuts that
socket down. FFmpeg then sees the end of the stream: it hands over what its parser held, the
muxer writes the last fragment, and the segment is closed and listed as after any stop.

Only sockets are ever touched, and only while the syscall line is the same before and after the
descriptors were read (the thread is still inside that very wait).
"""

from __future__ import annotations

import ctypes
import os
import platform
import socket
from pathlib import Path

#: Syscall numbers: (poll-like with a pollfd array in arg 0 and its length in arg 1, or None;
#: read-like with the descriptor in arg 0).
_POLLS = {"x86_64": frozenset({7, 271}), "aarch64": frozenset({73})}
_READS = {"x86_64": frozenset({0, 45, 47}), "aarch64": frozenset({63, 207, 212})}
_MAX_POLLFDS = 16


class _PollFd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


def _syscall(tid: int) -> list[str]:
    try:
        return Path(f"/proc/self/task/{tid}/syscall").read_text().split()
    except OSError:  # the thread has ended
        return []


def waited_sockets(tid: int) -> list[int]:
    """The socket descriptors thread ``tid`` of this process is blocked on, if any."""
    line = _syscall(tid)
    if len(line) < 3 or not line[0].isdigit():
        return []  # running, or not in a syscall
    number, args = int(line[0]), [int(a, 16) for a in line[1:3]]
    arch = platform.machine()
    if number in _POLLS.get(arch, ()):
        count = args[1]
        if not 0 < count <= _MAX_POLLFDS or not args[0]:
            return []
        fds = [p.fd for p in (_PollFd * count).from_address(args[0])]
    elif number in _READS.get(arch, ()):
        fds = [args[0]]
    else:
        return []
    if _syscall(tid) != line:  # it returned meanwhile: what was read may be stale
        return []
    return [fd for fd in fds if fd >= 0 and _is_socket(fd)]


def _is_socket(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    except OSError:
        return False


def unblock(tid: int) -> int:
    """Shut down the sockets thread ``tid`` waits on; how many were shut down."""
    done = 0
    for fd in waited_sockets(tid):
        try:
            with socket.socket(fileno=os.dup(fd)) as s:
                s.shutdown(socket.SHUT_RDWR)
            done += 1
        except OSError:  # closed meanwhile, or not connected: nothing to free
            continue
    return done
