"""Which server runs each of the housekeeper's timed duties (docs/design/cluster.md, "Timed
duties"): a lease per duty in PostgreSQL, renewed by a thread of its own every few seconds.

Every ``custos serve`` runs the housekeeper; before each pass a duty's thread asks
:meth:`DutyLeases.held`. A lease is held from a successful renewal until the end that renewal
promised, measured on this process's monotonic clock from *before* the statement was sent (so it
never outlasts the row, whose end is PostgreSQL's ``now()`` + TTL, later still) less a margin.
A server that stops releases its leases (another takes them at its next renewal); one that dies
keeps them until they expire. A server that cannot reach PostgreSQL stops starting passes when
its leases run out locally, as it would have to anyway.

On SQLite (one machine, one server) there is no store: every duty is held, always."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from custos.domain.duty_leases import (
    DUTY_MARGIN_S,
    DUTY_RENEW_EVERY_S,
    DUTY_TTL_S,
    Duty,
    DutyHolder,
    HeldDuty,
)

log = logging.getLogger(__name__)


class DutyLeaseStore(Protocol):
    def claim(self, duties: Sequence[str], holder: str, ttl_s: float) -> list[HeldDuty]:
        """Renew what ``holder`` holds among ``duties``, take what is free or expired; return
        what it holds now."""
        ...

    def release(self, duties: Sequence[str], holder: str) -> None: ...
    def holders(self) -> list[DutyHolder]: ...


class DutyLeases:
    def __init__(
        self,
        store: DutyLeaseStore | None,
        holder: str,
        duties: Iterable[str] = tuple(Duty),
        ttl_s: float = DUTY_TTL_S,
        renew_every_s: float = DUTY_RENEW_EVERY_S,
        margin_s: float = DUTY_MARGIN_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < renew_every_s < ttl_s - margin_s:
            raise ValueError("a duty lease must be renewed well within its TTL")
        self._store = store
        self.holder = holder
        self._duties = tuple(dict.fromkeys(str(d) for d in duties))
        self._ttl_s = ttl_s
        self._renew_every_s = renew_every_s
        self._margin_s = margin_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}  # duty -> monotonic end of holding it
        self._tokens: dict[str, int] = {}
        self._failing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def local(self) -> bool:
        """True on one machine (SQLite): no lease, every duty held."""
        return self._store is None

    # ---- the renewer ------------------------------------------------------------------------
    def start(self) -> None:
        """Claim at once (so a lone server runs its duties from its first pass), then renew
        every ``renew_every_s`` on a thread of its own."""
        if self._store is None or self._thread is not None:
            return
        self._stop.clear()
        self._renew_logged()
        self._thread = threading.Thread(target=self._loop, name="duty-leases", daemon=True)
        self._thread.start()

    def stop(self, release: bool = True) -> None:
        """Stop renewing; hand the leases back unless ``release`` is false (as a process that
        died would: the others wait for them to expire). Call after the duties' threads ended,
        so that no pass runs after the lease has moved."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        with self._lock:
            held = [d for d in self._duties if d in self._until]
            self._until.clear()
        if self._store is None or not release or not held:
            return
        try:
            self._store.release(held, self.holder)
            log.info("duty leases released: %s", ", ".join(held))
        except Exception:  # the database's boundary: the leases then expire by themselves
            log.warning("could not release the duty leases; they expire in %.0f s", self._ttl_s)

    def _loop(self) -> None:
        while not self._stop.wait(self._renew_every_s):
            self._renew_logged()

    def _renew_logged(self) -> None:
        try:
            self.renew()
        except Exception as exc:  # the database's boundary: held leases run out locally
            if not self._failing:
                log.warning("duty leases not renewed (retried every %.0f s): %s",
                            self._renew_every_s, type(exc).__name__)  # fmt: skip
            self._failing = True
        else:
            if self._failing:
                log.info("duty leases renewed again")
            self._failing = False

    def renew(self) -> list[HeldDuty]:
        """One renewal: what this server holds afterwards (every duty on SQLite)."""
        if self._store is None:
            return []
        sent = self._monotonic()
        held = self._store.claim(self._duties, self.holder, self._ttl_s)
        until = sent + self._ttl_s - self._margin_s
        with self._lock:
            before = {d for d in self._until if self._until[d] > sent}
            now_held = {h.duty for h in held}
            for h in held:
                if h.duty not in before or self._tokens.get(h.duty) != h.token:
                    log.info("duty %s taken by %s (token %d)", h.duty, self.holder, h.token)
                self._until[h.duty] = until
                self._tokens[h.duty] = h.token
            for d in set(self._until) - now_held:
                if d in before:
                    log.warning("duty %s lost by %s", d, self.holder)
                del self._until[d]
        return held

    # ---- what the duties ask ----------------------------------------------------------------
    def held(self, duty: str) -> bool:
        """May this server run a pass of ``duty`` now?"""
        if self._store is None:
            return True
        with self._lock:
            until = self._until.get(str(duty))
        return until is not None and self._monotonic() < until

    def token(self, duty: str) -> int | None:
        """The token of the term in which this server holds ``duty`` (None: not held)."""
        if not self.held(duty):
            return None
        with self._lock:
            return self._tokens.get(str(duty))

    def holders(self) -> list[DutyHolder]:
        """Who runs each timed duty, as PostgreSQL says (``custos cluster status``); empty on
        one machine (SQLite), where the one server runs them all."""
        return [] if self._store is None else self._store.holders()
