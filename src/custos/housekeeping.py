"""Timed duties of a running server: sign the operation log's tail when its time has come
(checkpoints every N entries *or* T seconds, also when no one writes), and lapse access requests
past their expiry (which also lifts the footage freeze they held)."""

from __future__ import annotations

import logging
import threading

from custos.bootstrap import Container

log = logging.getLogger(__name__)


class Housekeeper:
    def __init__(self, container: Container, every_s: float = 5.0) -> None:
        self._c = container
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="housekeeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def tick(self) -> None:
        self._c.audit.checkpoint_if_due()
        expired = self._c.requests.expire_due()
        if expired:
            log.info("%d access request(s) expired", expired)

    def _loop(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.tick()
            except Exception:  # the timer's boundary: one failed tick must not end the timer
                log.exception("housekeeping tick failed")
