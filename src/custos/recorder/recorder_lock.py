"""One recorder per data directory: an exclusive ``flock`` on ``<data dir>/recorder.lock``,
held for the process's life (the kernel drops it when the process dies, kill -9 included)."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


class RecorderLock:
    """One recorder per data directory: an exclusive lock on ``recorder.lock``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[str] | None = None

    def acquire(self, stop: threading.Event, retry_s: float = 2.0) -> bool:
        while not stop.is_set():
            if self.try_acquire():
                return True
            log.warning("another recorder holds %s; waiting", self._path)
            stop.wait(retry_s)
        return False

    def try_acquire(self) -> bool:
        """Take the lock now (held until the process ends; the kernel drops it on kill -9)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        f = self._path.open("a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        f.truncate(0)
        f.write(str(os.getpid()))
        f.flush()
        self._file = f
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def path(self) -> Path:
        return self._path
