"""Tables of migration 0013: notification channels, the escalation rota, the delivery outbox
(and the alarms' ``escalation_level`` / ``escalated_at``, which live on ``alarms`` in
``retention_tables``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, LargeBinary, String, Table, Text

from custos.adapters.db.tables import UTCDateTime, metadata

notify_channels = Table(
    "notify_channels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), index=True),  # NULL: system-wide
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("url_sealed", LargeBinary, nullable=False),  # the secret box's token, never clear
    Column("secret_sealed", LargeBinary),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

rota_entries = Table(
    "rota_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), index=True),  # NULL: the system rota
    Column("level", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("channel_id", Integer, ForeignKey("notify_channels.id")),
)

alarm_deliveries = Table(
    "alarm_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alarm_id", Integer, ForeignKey("alarms.id"), nullable=False, index=True),
    Column("channel_id", Integer, ForeignKey("notify_channels.id"), nullable=False),
    Column("level", Integer, nullable=False),
    Column("user_id", Integer),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", UTCDateTime(), nullable=False),
    Column("last_error", Text),
    Column("last_attempt_at", UTCDateTime()),
    Column("sent_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
)
Index("ix_alarm_deliveries_due", alarm_deliveries.c.status, alarm_deliveries.c.next_at)
