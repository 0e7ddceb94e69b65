"""Runs one :class:`~custos.services.gb_cascade_client.CascadeClient` thread per enabled upper
platform, and follows configuration changes (a platform enabled, disabled or edited restarts its
client) by re-reading the list every :data:`RELOAD_S` seconds. Started by ``custos serve`` only
when GB/T 28181 is enabled."""

from __future__ import annotations

import logging
import threading
import time

from custos.adapters.sip.cascade_link import RETRANSMIT_S, LocalIdentity, open_link
from custos.adapters.sip.cascade_media import UpwardMediaConfig
from custos.domain.clock import Clock
from custos.domain.gb_cascade import UpperPlatform
from custos.services.gb_cascade import GbCascadeService
from custos.services.gb_cascade_client import CascadeClient

log = logging.getLogger(__name__)

RELOAD_S = 15.0


class CascadeRunner:
    def __init__(
        self,
        service: GbCascadeService,
        me: LocalIdentity,
        clock: Clock,
        bind_host: str,
        reload_s: float = RELOAD_S,
        retransmit_s: tuple[float, ...] = RETRANSMIT_S,
        media: UpwardMediaConfig | None = None,
    ) -> None:
        """``media``: serve live video and playback of shared cameras (without it, a shared
        camera's INVITE gets 488)."""
        self._service = service
        self._media = media
        self._me = me
        self._clock = clock
        self._bind_host = bind_host
        self._reload_s = reload_s
        self._retransmit = retransmit_s
        self._stop = threading.Event()
        self._clients: dict[int, tuple[UpperPlatform, threading.Event, threading.Thread]] = {}
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> list[int]:
        """The platforms whose client thread is alive."""
        return sorted(pid for pid, (_, _, t) in list(self._clients.items()) if t.is_alive())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gb-cascade", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for _, stop, _thread in self._clients.values():
            stop.set()
        for _, _, thread in self._clients.values():
            thread.join(timeout)
        self._clients.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._reconcile()
            except Exception:  # a database hiccup must not end the cascade
                log.exception("gb cascade: reading the upper platforms failed")
            self._stop.wait(self._reload_s)

    def _reconcile(self) -> None:
        wanted = {p.id or 0: p for p in self._service.enabled_platforms()}
        for pid, (running, stop, thread) in list(self._clients.items()):
            if wanted.get(pid) != running or not thread.is_alive():
                stop.set()
                thread.join(10.0)
                del self._clients[pid]
        for pid, p in wanted.items():
            if pid not in self._clients:
                self._clients[pid] = self._launch(p)

    def _launch(self, p: UpperPlatform) -> tuple[UpperPlatform, threading.Event, threading.Thread]:
        stop = threading.Event()
        link = open_link(
            p, self._me, self._service, self._bind_host, self._retransmit, media=self._media
        )
        client = CascadeClient(p, link, self._service.record_state, self._clock, time.monotonic)
        thread = threading.Thread(
            target=client.run, args=(stop,), name=f"gb-cascade-{p.sip_id}", daemon=True
        )
        thread.start()
        log.info("gb cascade: client for %s (%s:%s) started", p.sip_id, p.host, p.port)
        return p, stop, thread
