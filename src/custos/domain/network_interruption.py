"""Interruptions of a site's network by its carrier, and the limit on them.

Xi'an art. 26: a carrier restores the system's network first when it fails (¶1); an interruption
for municipal construction and like causes (因市政建设等原因) may not last more than 3 days (¶2).
The limit is the packs' ``network.max_interruption_days`` (only Xi'an sets one). It binds the
planned causes — works — not a fault, which ¶1 answers with priority restoration and no number.
Days are counted as the Civil Code counts a period (arts. 201, 203): from the day after the
interruption began, to 24:00 (Shanghai) of the third day — so works that start at 10:00 on the
20th must be over by the end of the 23rd.

An interruption is a fact; recording one is never refused for its length. Its length against
the limit is a finding of the site's compliance report (``network.interruption.*``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from custos.domain.calendar import period_end
from custos.domain.errors import FieldError
from custos.domain.kinds import Severity
from custos.domain.rules.duty import Duty
from custos.domain.rules.facts import Finding


class InterruptionCause(enum.StrEnum):
    MUNICIPAL_WORKS = "municipal_works"  # 市政建设
    OTHER_WORKS = "other_works"  # 等原因: other planned works (road, building, relocation)
    NETWORK_FAULT = "network_fault"  # 网络故障 (art. 26 ¶1: restore with priority)
    OTHER = "other"


#: The causes art. 26 ¶2 limits (市政建设等原因).
LIMITED_CAUSES = frozenset({InterruptionCause.MUNICIPAL_WORKS, InterruptionCause.OTHER_WORKS})


@dataclass(frozen=True)
class NetworkInterruption:
    id: int | None
    site_id: int
    cause: InterruptionCause
    detail: str
    carrier: str  # 通讯运营单位, e.g. 中国电信西安分公司
    started_at: datetime
    ended_at: datetime | None  # None while it lasts
    recorded_by: str
    recorded_at: datetime

    def length(self, now: datetime) -> timedelta:
        return (self.ended_at or now) - self.started_at

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site_id": self.site_id,
            "cause": self.cause.value,
            "detail": self.detail,
            "carrier": self.carrier,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


def check_interruption(i: NetworkInterruption, now: datetime) -> list[FieldError]:
    errors: list[FieldError] = []
    if not i.carrier.strip():
        errors.append(FieldError("carrier", "name the carrier (通讯运营单位)"))
    for name, at in (("started_at", i.started_at), ("ended_at", i.ended_at)):
        if at is not None and (at.tzinfo is None or at.utcoffset() is None):
            errors.append(FieldError(name, "must carry a time zone"))
        elif at is not None and at > now:
            errors.append(FieldError(name, "is in the future"))
    if i.ended_at is not None and i.ended_at.tzinfo and i.ended_at <= i.started_at:
        errors.append(FieldError("ended_at", "must be after started_at"))
    return errors


@dataclass(frozen=True)
class LimitStatus:
    """An interruption against the limit: ``restore_by`` is the end of the limit's last day."""

    limited: bool
    limit_days: int | None
    restore_by: datetime | None
    over: bool
    citations: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "limited": self.limited,
            "limit_days": self.limit_days,
            "restore_by": self.restore_by.isoformat() if self.restore_by else None,
            "over_limit": self.over,
            "rule_ids": list(self.citations),
        }


def limit_status(i: NetworkInterruption, limit: Duty[int | None], now: datetime) -> LimitStatus:
    if limit.value is None or i.cause not in LIMITED_CAUSES:
        return LimitStatus(False, limit.value, None, False, ())
    restore_by = period_end(i.started_at, limit.value)
    over = (i.ended_at or now) > restore_by
    return LimitStatus(True, limit.value, restore_by, over, tuple(limit.rule_ids))


def interruption_finding(
    i: NetworkInterruption, limit: Duty[int | None], now: datetime
) -> Finding | None:
    """A finding when a limited interruption ran (or is running) past the limit."""
    status = limit_status(i, limit, now)
    if not status.over or status.restore_by is None:
        return None
    hours = round(i.length(now).total_seconds() / 3600, 1)
    state = "ended" if i.ended_at else "ongoing"
    return Finding(
        code=f"network.interruption.{state}_over_limit",
        severity=Severity.VIOLATION,
        subject=f"site:{i.site_id}",
        message=(
            f"{i.carrier} interrupted the network ({i.cause.value}) for {hours} h, more than the "
            f"{status.limit_days} days allowed; it had to be restored by "
            f"{status.restore_by.isoformat()}"
        ),
        citations=limit.citations,
        params={
            "interruption_id": i.id,
            "carrier": i.carrier,
            "hours": hours,
            "limit_days": status.limit_days,
            "restore_by": status.restore_by.isoformat(),
        },
    )
