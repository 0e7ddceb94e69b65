"""Repositories of alarm delivery (migration 0013): channels (URL and secret sealed with the
secret box), the rota, the delivery outbox, and the alarms' escalation columns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, and_, delete, func, insert, select, update

from custos.adapters.db import delivery_tables as dt
from custos.adapters.db import retention_tables as rt
from custos.domain.notify import Channel, ChannelKind, Delivery, DeliveryStatus, RotaEntry
from custos.services.ports import SecretBox


class ChannelRepository:
    def __init__(self, conn: Connection, secrets: SecretBox) -> None:
        self._c = conn
        self._secrets = secrets

    def add(self, ch: Channel) -> Channel:
        ch.id = self._c.execute(
            insert(dt.notify_channels).values(**self._row(ch)).returning(dt.notify_channels.c.id)
        ).scalar_one()
        return ch

    def update(self, ch: Channel) -> None:
        t = dt.notify_channels
        self._c.execute(update(t).where(t.c.id == ch.id).values(**self._row(ch)))

    def get(self, channel_id: int) -> Channel | None:
        t = dt.notify_channels
        row = self._c.execute(select(t).where(t.c.id == channel_id)).mappings().first()
        return self._channel(row) if row else None

    def find(self, unit_ids: Sequence[int | None] | None = None) -> list[Channel]:
        """Every channel, or those of the given units (``None`` in the list: system channels)."""
        t = dt.notify_channels
        q = select(t).order_by(t.c.id)
        if unit_ids is not None:
            ids = [u for u in unit_ids if u is not None]
            cond = t.c.unit_id.in_(ids)
            q = q.where(cond | t.c.unit_id.is_(None) if None in unit_ids else cond)
        return [self._channel(r) for r in self._c.execute(q).mappings()]

    def remove(self, channel_id: int) -> bool:
        """Take the channel out of every rota; drop it, or keep it disabled when deliveries
        through it are on record (their history stays). True: dropped."""
        self._c.execute(delete(dt.rota_entries).where(dt.rota_entries.c.channel_id == channel_id))
        used = self._c.execute(
            select(func.count()).where(dt.alarm_deliveries.c.channel_id == channel_id)
        ).scalar_one()
        t = dt.notify_channels
        if used:
            self._c.execute(update(t).where(t.c.id == channel_id).values(enabled=False))
            return False
        self._c.execute(delete(t).where(t.c.id == channel_id))
        return True

    def _row(self, ch: Channel) -> dict[str, object]:
        return {
            "unit_id": ch.unit_id,
            "name": ch.name,
            "kind": ch.kind.value,
            "url_sealed": self._secrets.seal(ch.url),
            "secret_sealed": self._secrets.seal(ch.secret) if ch.secret else None,
            "enabled": ch.enabled,
            "created_at": ch.created_at,
        }

    def _channel(self, r: RowMapping) -> Channel:
        secret = r["secret_sealed"]
        return Channel(
            id=r["id"],
            unit_id=r["unit_id"],
            name=r["name"],
            kind=ChannelKind(r["kind"]),
            url=self._secrets.open(r["url_sealed"]),
            secret=self._secrets.open(secret) if secret is not None else None,
            enabled=bool(r["enabled"]),
            created_at=r["created_at"],
        )


class RotaRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def entries(self, unit_id: int | None) -> list[RotaEntry]:
        t = dt.rota_entries
        owner = t.c.unit_id.is_(None) if unit_id is None else t.c.unit_id == unit_id
        q = select(t).where(owner).order_by(t.c.level, t.c.position, t.c.id)
        return [
            RotaEntry(r["level"], r["user_id"], r["channel_id"])
            for r in self._c.execute(q).mappings()
        ]

    def replace(self, unit_id: int | None, entries: Sequence[RotaEntry]) -> None:
        t = dt.rota_entries
        owner = t.c.unit_id.is_(None) if unit_id is None else t.c.unit_id == unit_id
        self._c.execute(delete(t).where(owner))
        rows = [
            {"unit_id": unit_id, "level": e.level, "position": i, "user_id": e.user_id,
             "channel_id": e.channel_id}
            for i, e in enumerate(entries)
        ]  # fmt: skip
        if rows:
            self._c.execute(insert(t), rows)


class DeliveryRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, d: Delivery) -> Delivery:
        d.id = self._c.execute(
            insert(dt.alarm_deliveries)
            .values(**_delivery_row(d))
            .returning(dt.alarm_deliveries.c.id)
        ).scalar_one()
        return d

    def record(self, d: Delivery) -> None:
        t = dt.alarm_deliveries
        self._c.execute(update(t).where(t.c.id == d.id).values(**_delivery_row(d)))

    def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        t = dt.alarm_deliveries
        q = (
            select(t)
            .where(t.c.status == DeliveryStatus.PENDING.value, t.c.next_at <= now)
            .order_by(t.c.next_at, t.c.id)
            .limit(limit)
        )
        return [_delivery(r) for r in self._c.execute(q).mappings()]

    def for_alarm(self, alarm_id: int) -> list[Delivery]:
        t = dt.alarm_deliveries
        q = select(t).where(t.c.alarm_id == alarm_id).order_by(t.c.id)
        return [_delivery(r) for r in self._c.execute(q).mappings()]


class EscalationRepository:
    """The alarms' ``routed_at``, ``escalation_level`` and ``escalated_at`` (migration 0013)."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def unacknowledged_since(self, before: datetime, limit: int = 200) -> list[tuple[int, int]]:
        """(alarm id, level) of the open, unacknowledged alarms last raised or escalated at or
        before ``before``."""
        t = rt.alarms
        last = func.coalesce(t.c.escalated_at, t.c.raised_at)
        q = (
            select(t.c.id, t.c.escalation_level)
            .where(
                and_(
                    t.c.cleared_at.is_(None),
                    t.c.resolved_at.is_(None),
                    t.c.acknowledged_at.is_(None),
                    last <= before,
                )
            )
            .order_by(t.c.id)
            .limit(limit)
        )
        return [(int(r[0]), int(r[1])) for r in self._c.execute(q)]

    def unrouted(self, limit: int = 100) -> list[int]:
        """Alarms whose deliveries are not written yet, oldest first."""
        t = rt.alarms
        q = select(t.c.id).where(t.c.routed_at.is_(None)).order_by(t.c.id).limit(limit)
        return [int(r[0]) for r in self._c.execute(q)]

    def routed(self, alarm_id: int, at: datetime) -> None:
        t = rt.alarms
        self._c.execute(update(t).where(t.c.id == alarm_id).values(routed_at=at))

    def level(self, alarm_id: int) -> int:
        t = rt.alarms
        found = self._c.execute(select(t.c.escalation_level).where(t.c.id == alarm_id)).first()
        return int(found[0]) if found else 0

    def escalate(self, alarm_id: int, level: int, at: datetime) -> None:
        t = rt.alarms
        self._c.execute(
            update(t).where(t.c.id == alarm_id).values(escalation_level=level, escalated_at=at)
        )


def _delivery_row(d: Delivery) -> dict[str, object]:
    return {
        "alarm_id": d.alarm_id,
        "channel_id": d.channel_id,
        "level": d.level,
        "user_id": d.user_id,
        "status": d.status.value,
        "attempts": d.attempts,
        "next_at": d.next_at,
        "last_error": d.last_error,
        "last_attempt_at": d.last_attempt_at,
        "sent_at": d.sent_at,
        "created_at": d.created_at,
    }


def _delivery(r: RowMapping) -> Delivery:
    return Delivery(
        id=r["id"],
        alarm_id=r["alarm_id"],
        channel_id=r["channel_id"],
        level=r["level"],
        user_id=r["user_id"],
        status=DeliveryStatus(r["status"]),
        attempts=r["attempts"],
        next_at=r["next_at"],
        created_at=r["created_at"],
        last_error=r["last_error"],
        sent_at=r["sent_at"],
        last_attempt_at=r["last_attempt_at"],
    )
