"""Alarm delivery: the outbox, the notifier's sending and retries, and escalation (issue 14 §1).

The alarm row is the outbox's record: committed with ``routed_at`` unset, it is routed by the
notifier's next pass (:meth:`AlarmDeliveryService.route_new`), which writes one delivery row per
channel of the first rota level (the people on duty) and marks it routed in one transaction, so a
crash anywhere loses nothing. The notifier then sends the rows that are due
(:meth:`AlarmDeliveryService.send_due`, ticked every second by the server's housekeeper),
outside any transaction, and stores each attempt's outcome; a failure is retried with
exponential back-off, and a channel whose delivery exhausts its tries raises ``delivery_failed``
(``channel:<id>``), cleared by the channel's next success. An open alarm nobody acknowledged
within the escalation time moves one level up the rota and is delivered there
(:meth:`AlarmDeliveryService.escalate_due`). See docs/design/operations.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from custos.domain.alarms import Alarm, AlarmKind, Severity, site_of_subject
from custos.domain.audit import AuditEvent
from custos.domain.calendar import SHANGHAI
from custos.domain.clock import Clock
from custos.domain.notify import (
    Channel,
    Delivery,
    DeliveryError,
    DeliveryStatus,
    Notice,
    RetryPolicy,
    RotaEntry,
    redact,
)
from custos.domain.users import Principal
from custos.services.alarms import AlarmService
from custos.services.ports import RetentionUnitOfWork

log = logging.getLogger(__name__)

OnDuty = Callable[[int], list[int]]  # unit id -> the users signed on duty in its room(s)


class Channels(Protocol):
    def add(self, ch: Channel) -> Channel: ...
    def update(self, ch: Channel) -> None: ...
    def get(self, channel_id: int) -> Channel | None: ...
    def find(self, unit_ids: Sequence[int | None] | None = None) -> list[Channel]: ...
    def remove(self, channel_id: int) -> bool: ...


class Rota(Protocol):
    def entries(self, unit_id: int | None) -> list[RotaEntry]: ...
    def replace(self, unit_id: int | None, entries: Sequence[RotaEntry]) -> None: ...


class Deliveries(Protocol):
    def add(self, d: Delivery) -> Delivery: ...
    def record(self, d: Delivery) -> None: ...
    def due(self, now: datetime, limit: int = 100) -> list[Delivery]: ...
    def for_alarm(self, alarm_id: int) -> list[Delivery]: ...


class Escalations(Protocol):
    def unrouted(self, limit: int = 100) -> list[int]: ...
    def routed(self, alarm_id: int, at: datetime) -> None: ...
    def unacknowledged_since(self, before: datetime, limit: int = 200) -> list[tuple[int, int]]: ...
    def level(self, alarm_id: int) -> int: ...
    def escalate(self, alarm_id: int, level: int, at: datetime) -> None: ...


class DeliveryUnitOfWork(RetentionUnitOfWork, Protocol):
    @property
    def channels(self) -> Channels: ...
    @property
    def rota(self) -> Rota: ...
    @property
    def deliveries(self) -> Deliveries: ...
    @property
    def escalations(self) -> Escalations: ...


class ChannelSender(Protocol):
    """Sends one notice through one channel; raises :class:`DeliveryError` when it was not taken."""

    def send(self, channel: Channel, notice: Notice) -> None: ...


@dataclass(frozen=True)
class Target:
    user_id: int | None
    channel_id: int


class DeliveryOutbox:
    """Who an alarm reaches at each level, and the delivery rows that say so (never sent here).

    ``on_duty`` (the duty part's ``on_duty_users``) is asked outside any transaction: it opens
    one of its own, which SQLite would refuse while the notifier holds the write lock."""

    def __init__(self, on_duty: OnDuty | None = None) -> None:
        self.on_duty = on_duty

    def write(
        self,
        uow: DeliveryUnitOfWork,
        alarm: Alarm,
        level: int,
        now: datetime,
        on_duty: set[int] | None = None,
    ) -> int:
        """Write the deliveries of ``alarm`` to rota level ``level``; return how many."""
        assert alarm.id is not None
        targets = self.targets(uow, unit_of(uow, alarm), level, on_duty or set())
        skip = _failing_channel(alarm)
        n = 0
        for t in targets:
            if t.channel_id == skip:  # never report a channel's failure through itself
                continue
            uow.deliveries.add(
                Delivery(None, alarm.id, t.channel_id, level, t.user_id,
                         DeliveryStatus.PENDING, 0, now, now)
            )  # fmt: skip
            n += 1
        return n

    def targets(
        self, uow: DeliveryUnitOfWork, unit_id: int | None, level: int, on_duty: set[int]
    ) -> list[Target]:
        """Level 0: the people on duty (their channels in the rota), else the rota's level 0;
        level n: the rota's level n. A unit without a rota: all its channels, at level 0 only."""
        enabled = {c.id for c in uow.channels.find([unit_id]) if c.enabled and c.unit_id == unit_id}
        entries = uow.rota.entries(unit_id)
        rota = [e for e in entries if e.channel_id in enabled]
        if not entries:
            return [Target(None, c) for c in sorted(i for i in enabled if i)] if level == 0 else []
        picked: list[RotaEntry] = []
        if level == 0 and on_duty:
            picked = [e for e in rota if e.user_id is not None and e.user_id in on_duty]
        if not picked:
            picked = [e for e in rota if e.level == level]
        seen: set[int] = set()
        out: list[Target] = []
        for e in picked:
            if e.channel_id is not None and e.channel_id not in seen:
                seen.add(e.channel_id)
                out.append(Target(e.user_id, e.channel_id))
        return out

    def signed_on(self, unit_id: int | None) -> set[int]:
        if unit_id is None or self.on_duty is None:
            return set()
        return set(self.on_duty(unit_id))


class AlarmDeliveryService:
    def __init__(
        self,
        uow: Callable[[], DeliveryUnitOfWork],
        clock: Clock,
        alarms: AlarmService,
        outbox: DeliveryOutbox,
        sender: ChannelSender,
        retry: RetryPolicy,
        escalate_after: timedelta,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._alarms = alarms
        self._outbox = outbox
        self._sender = sender
        self._retry = retry
        self._escalate_after = escalate_after

    # ---- the notifier -----------------------------------------------------------------------
    def route_new(self, batch: int = 100) -> int:
        """Write the first-level deliveries of alarms raised since the last pass (the alarm row
        is the outbox's record until then); return how many alarms were routed."""
        with self._uow() as uow:
            fresh = [a for a in map(uow.alarms.get, uow.escalations.unrouted(batch)) if a]
            units = {a.id: unit_of(uow, a) for a in fresh}
        if not fresh:
            return 0
        on_duty = {u: self._outbox.signed_on(u) for u in set(units.values())}  # no transaction
        now = self._clock.now()
        with self._uow() as uow:
            for a in fresh:
                assert a.id is not None
                if a.is_open:
                    self._outbox.write(uow, a, 0, now, on_duty[units[a.id]])
                uow.escalations.routed(a.id, now)
            uow.commit()
        return len(fresh)

    def send_due(self, batch: int = 50) -> int:
        """Send the deliveries that are due; return how many were sent."""
        with self._uow() as uow:
            work = [
                (d, uow.channels.get(d.channel_id), uow.alarms.get(d.alarm_id))
                for d in uow.deliveries.due(self._clock.now(), batch)
            ]
        sent = 0
        for d, channel, alarm in work:
            sent += self._attempt(d, channel, alarm)
        return sent

    def _attempt(self, d: Delivery, channel: Channel | None, alarm: Alarm | None) -> int:
        error: str | None = None
        if channel is None or not channel.enabled or alarm is None:
            error = "the channel was removed or disabled"
        else:
            try:
                self._sender.send(channel, notice_of(alarm, d.level))
            except DeliveryError as exc:
                error = redact(str(exc), channel.url, channel.secret) or type(exc).__name__
        now = self._clock.now()
        d.attempts += 1
        d.last_attempt_at = now
        d.last_error = error
        if error is None:
            d.status, d.sent_at = DeliveryStatus.SENT, now
        else:
            retry_at = self._retry.after_failure(d.attempts, now)
            d.status = DeliveryStatus.PENDING if retry_at is not None else DeliveryStatus.FAILED
            d.next_at = retry_at or d.next_at
        with self._uow() as uow:
            uow.deliveries.record(d)
            detail: dict[str, Any] = {"alarm_id": d.alarm_id, "channel_id": d.channel_id,
                                      "attempt": d.attempts, "status": d.status.value}  # fmt: skip
            if error is not None:
                detail["error"] = error
            uow.audit.append(
                AuditEvent(now, "system", "alarm.deliver", "delivery", str(d.id), detail=detail)
            )
            uow.commit()
        subject = f"channel:{d.channel_id}"
        if d.status is DeliveryStatus.SENT:
            self._alarms.clear(AlarmKind.DELIVERY_FAILED, subject)
            return 1
        log.warning("delivery %s via channel %s failed (try %d): %s",
                    d.id, d.channel_id, d.attempts, error)  # fmt: skip
        if d.status is DeliveryStatus.FAILED:
            message = (f"channel {d.channel_id} failed {d.attempts} times delivering alarm "
                       f"{d.alarm_id}: {error}")  # fmt: skip
            self._alarms.raise_(
                AlarmKind.DELIVERY_FAILED, Severity.WARNING, subject, message,
                {"channel_id": d.channel_id, "alarm_id": d.alarm_id, "attempts": d.attempts},
            )  # fmt: skip
        return 0

    # ---- escalation -------------------------------------------------------------------------
    def escalate_due(self) -> int:
        """Move each open alarm unacknowledged for the escalation time one level up the rota and
        deliver it there; return how many moved (one with no level above stays where it is)."""
        now = self._clock.now()
        moved = 0
        with self._uow() as uow:
            for alarm_id, level in uow.escalations.unacknowledged_since(now - self._escalate_after):
                alarm = uow.alarms.get(alarm_id)
                if alarm is None or not self._outbox.write(uow, alarm, level + 1, now):
                    continue
                uow.escalations.escalate(alarm_id, level + 1, now)
                detail = {"kind": alarm.kind.value, "subject": alarm.subject, "level": level + 1}
                uow.audit.append(
                    AuditEvent(
                        now, "system", "alarm.escalate", "alarm", str(alarm_id), detail=detail
                    )
                )
                moved += 1
            uow.commit()
        return moved

    # ---- people -----------------------------------------------------------------------------
    def deliveries(self, actor: Principal, alarm_id: int) -> dict[str, Any]:
        """The alarm's escalation level and every delivery of it, with each one's outcome."""
        self._alarms.get(actor, alarm_id)  # alarm.read, and the alarm within the actor's reach
        with self._uow() as uow:
            rows = uow.deliveries.for_alarm(alarm_id)
            channels = {i: uow.channels.get(i) for i in {d.channel_id for d in rows}}
            level = uow.escalations.level(alarm_id)
        out = []
        for d in rows:
            ch = channels.get(d.channel_id)
            shown = {"channel_name": ch.name, "channel_target": ch.masked} if ch else {}
            out.append({**d.as_dict(), **shown})
        return {"alarm_id": alarm_id, "escalation_level": level, "deliveries": out}


def unit_of(uow: RetentionUnitOfWork, alarm: Alarm) -> int | None:
    """The unit an alarm belongs to: its camera's (or, for an alarm about a whole site, that
    site's) unit; None for a system alarm."""
    if alarm.camera_id is None:
        site_id = site_of_subject(alarm.subject)
        whole = uow.sites.get(site_id) if site_id is not None else None
        return whole.unit_id if whole is not None else None
    cam = uow.cameras.get(alarm.camera_id)
    site = uow.sites.get(cam.site_id) if cam is not None else None
    return site.unit_id if site is not None else None


_SEVERITY_ZH = {"critical": "严重", "warning": "警告"}


def notice_of(alarm: Alarm, level: int) -> Notice:
    """The message for people on duty: Chinese first, the codes as they are (kind, subject)."""
    raised = alarm.raised_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    grade = _SEVERITY_ZH.get(alarm.severity.value, alarm.severity.value)
    title = f"[Custos 告警] {grade} {alarm.kind.value}: {alarm.subject}"
    lines = [alarm.message, "", f"告警编号 alarm #{alarm.id}",
             f"发生时间 raised {raised}（北京时间 Asia/Shanghai）"]  # fmt: skip
    if level:
        lines.append(f"未及时确认，已升级到第 {level} 级 (escalated to level {level})")
    payload = {
        "alarm_id": alarm.id,
        "kind": alarm.kind.value,
        "severity": alarm.severity.value,
        "subject": alarm.subject,
        "message": alarm.message,
        "camera_id": alarm.camera_id,
        "raised_at": alarm.raised_at.isoformat(),
        "level": level,
    }
    return Notice(title, "\n".join(lines), payload)


def _failing_channel(alarm: Alarm) -> int | None:
    if alarm.kind is AlarmKind.DELIVERY_FAILED and alarm.subject.startswith("channel:"):
        tail = alarm.subject.removeprefix("channel:")
        return int(tail) if tail.isdigit() else None
    return None
