"""The cascade client: keeps Custos registered with one upper platform (issue 12 §2).

It REGISTERs (the link does the digest round), refreshes at half the expiry, sends a keepalive
every interval, and re-registers with exponential back-off (2, 4, 8 … s, at most 300 s) after a
refusal, a timeout or three missed keepalives. Between its own requests it lets the link serve the
upper platform's requests (Catalog, DeviceInfo, INVITE), answered through :class:`CascadeAnswers`.
Each change of state is stored, with the error and since when, for the API and the UI.

The SIP itself is the :class:`UpperLink` port (``custos.adapters.sip.cascade_link``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from custos.domain.clock import Clock
from custos.domain.gb_cascade import LinkState, PlatformState, UpperPlatform

MIN_BACKOFF_S = 2.0
MAX_BACKOFF_S = 300.0
MISSED_KEEPALIVES = 3


@dataclass(frozen=True)
class LinkAnswer:
    ok: bool
    error: str = ""
    expires: int = 0  # a REGISTER's expiry as sent (the upper platform may demand a longer one)


class UpperLink(Protocol):
    def register(self, expires: int) -> LinkAnswer: ...
    def keepalive(self, sn: int) -> LinkAnswer: ...
    def serve(self, seconds: float) -> None:
        """Answer the upper platform's requests for up to ``seconds``."""
        ...

    def close(self) -> None: ...


def next_backoff(previous: float | None) -> float:
    """2 s, then doubled, never above 300 s."""
    return MIN_BACKOFF_S if previous is None else min(previous * 2, MAX_BACKOFF_S)


class CascadeClient:
    def __init__(
        self,
        platform: UpperPlatform,
        link: UpperLink,
        record: Callable[[PlatformState], None],
        clock: Clock,
        ticks: Callable[[], float],
    ) -> None:
        """``clock`` stamps the stored state; ``ticks`` (monotonic seconds) times the refresh
        and the keepalives, so that a wall-clock step neither floods nor starves them."""
        self._p = platform
        self._link = link
        self._record = record
        self._clock = clock
        self._ticks = ticks
        self._attempts = 0
        self._sn = 0
        self.states: list[LinkState] = []  # every state entered, in order (for tests and logs)

    def run(self, stop: threading.Event) -> None:
        backoff: float | None = None
        try:
            while not stop.is_set():
                self._set(LinkState.REGISTERING)
                self._attempts += 1
                answer = self._link.register(self._p.register_expiry_s)
                if not answer.ok:
                    backoff = next_backoff(backoff)
                    self._set(LinkState.FAILED, f"REGISTER: {answer.error}")
                    stop.wait(backoff)
                    continue
                backoff = None
                self._attempts = 0
                expiry = answer.expires or self._p.register_expiry_s
                until = self._clock.now() + timedelta(seconds=expiry)
                self._set(LinkState.REGISTERED, registered_until=until)
                error = self._registered(stop, expiry)
                if error:
                    backoff = next_backoff(backoff)
                    self._set(LinkState.FAILED, error)
                    stop.wait(backoff)
        finally:
            if self.states[-1:] == [LinkState.REGISTERED]:
                self._link.register(0)  # unregister: the upper platform sees us leave
            self._link.close()
            self._set(LinkState.DISABLED)

    def _registered(self, stop: threading.Event, expiry: int) -> str:
        """Serve, keep alive and refresh until the registration is due or lost: '' to refresh,
        else the error. ``expiry``: the registration's, as granted."""
        interval = float(self._p.keepalive_interval_s)
        refresh_at = self._ticks() + expiry / 2
        next_keepalive = self._ticks() + interval
        missed = 0
        while not stop.is_set():
            now = self._ticks()
            if now >= refresh_at:
                answer = self._link.register(self._p.register_expiry_s)
                if not answer.ok:
                    return f"refresh REGISTER: {answer.error}"
                expiry = answer.expires or self._p.register_expiry_s
                refresh_at = self._ticks() + expiry / 2
                until = self._clock.now() + timedelta(seconds=expiry)
                self._set(LinkState.REGISTERED, registered_until=until)
                continue
            if now >= next_keepalive:
                self._sn += 1
                answer = self._link.keepalive(self._sn)
                missed = 0 if answer.ok else missed + 1
                if missed >= MISSED_KEEPALIVES:
                    return f"{MISSED_KEEPALIVES} keepalives unanswered: {answer.error}"
                next_keepalive = now + interval
                continue
            self._link.serve(max(0.05, min(min(refresh_at, next_keepalive) - now, 1.0)))
        return ""

    def _set(
        self, state: LinkState, error: str = "", registered_until: datetime | None = None
    ) -> None:
        self.states.append(state)
        self._record(
            PlatformState(
                self._p.id or 0, state, self._clock.now(), error, registered_until, self._attempts
            )
        )
