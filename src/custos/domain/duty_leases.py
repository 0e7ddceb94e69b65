"""The housekeeper's timed duties on several servers (docs/design/cluster.md, "Timed duties"):
which duties there are, how long a duty lease lasts, and what the cluster says of who holds one.
Pure: no clock, no database."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

#: Seconds a duty lease lasts without renewal; a server renews what it holds (and claims what is
#: free or expired) every DUTY_RENEW_EVERY_S, so a stopped server's duties move within one
#: renewal and a dead one's within DUTY_TTL_S + DUTY_RENEW_EVERY_S.
DUTY_TTL_S = 15.0
DUTY_RENEW_EVERY_S = 5.0
#: A server stops starting passes this long before the end its last renewal promised, so that
#: its pass never begins after the lease has ended in PostgreSQL (whose clock it never reads).
DUTY_MARGIN_S = 1.0
HOLDER_MAX = 120  # duty_leases.holder
_HOST_MAX = 80


class Duty(enum.StrEnum):
    """One lease per housekeeper thread: what one thread does runs on one server at a time."""

    HOUSEKEEPING = (
        "housekeeping"  # checkpoints, alarm watch, lapsing requests, storage, scrub, purge
    )
    OFFLOAD = "offload"  # the one-machine recorder's segments (a node offloads its own)
    DIAGNOSIS = "diagnosis"
    NOTIFIER = "notifier"  # routing, escalating and sending alarm deliveries
    CLOCKS = "clocks"  # the ONVIF cameras' clocks
    WITNESS = "witness"  # signed checkpoints handed to the witnesses
    PUBLICATIONS = "publications"  # masking jobs for publication, one at a time


@dataclass(frozen=True)
class HeldDuty:
    """A duty a server holds after a renewal: its token and the end PostgreSQL gave it."""

    duty: str
    token: int
    expires_at: datetime


@dataclass(frozen=True)
class DutyHolder:
    """Who runs a duty, as the cluster sees it (``custos cluster status``): ``live`` is false
    once the lease has expired (``holder`` then names the last server that held it) or was
    released (``holder`` None)."""

    duty: str
    holder: str | None
    expires_at: datetime
    token: int
    granted_at: datetime | None = None
    live: bool = False


def holder_id(host: str, pid: int, nonce: str) -> str:
    """A server process's name in the duty leases: ``host:pid:random`` (the random part tells a
    restarted process with a recycled pid from its predecessor), at most HOLDER_MAX characters."""
    if not 0 < pid < 1 << 31:
        raise ValueError(f"pid {pid}: not a process id")
    if not nonce or len(nonce) > 16 or ":" in nonce:
        raise ValueError("the holder's random part: 1 to 16 characters, no ':'")
    host = (host or "unknown").replace(":", "_")[:_HOST_MAX]
    return f"{host}:{pid}:{nonce}"
