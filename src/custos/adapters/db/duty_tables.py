"""Tables of migration 0016: monitoring rooms, shifts, the rota, duty sessions, the duty log,
reports to the police and the room's access register (issue 14 §4)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Integer, String, Table

from custos.adapters.db.tables import UTCDateTime, metadata

monitoring_rooms = Table(
    "monitoring_rooms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("camera_ids", JSON, nullable=False),  # empty: every camera of the unit
    Column("authorised", JSON, nullable=False),  # names allowed in besides the rota
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

duty_shifts = Table(
    "duty_shifts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("monitoring_rooms.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("starts", String(5), nullable=False),  # HH:MM, Asia/Shanghai
    Column("ends", String(5), nullable=False),
    Column("requires_duty", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

duty_rota = Table(
    "duty_rota",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("monitoring_rooms.id"), nullable=False, index=True),
    Column("shift_id", Integer, ForeignKey("duty_shifts.id"), nullable=False),
    Column("day", Date, nullable=False),  # the Shanghai date the shift starts
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("person_name", String(100), nullable=False),
)

duty_sessions = Table(
    "duty_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("monitoring_rooms.id"), nullable=False, index=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("username", String(100), nullable=False),
    Column("signed_on_at", UTCDateTime(), nullable=False),
    Column("signed_off_at", UTCDateTime()),
    Column("follows", Integer),
    Column("handover_to", Integer, ForeignKey("users.id")),
    Column("handover_note", String(4000), nullable=False),
    Column("handover_at", UTCDateTime()),
)

duty_log = Table(
    "duty_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("monitoring_rooms.id"), nullable=False, index=True),
    Column("session_id", Integer, ForeignKey("duty_sessions.id")),
    Column("at", UTCDateTime(), nullable=False),
    Column("camera_id", Integer, ForeignKey("cameras.id")),
    Column("text", String(4000), nullable=False),
    Column("suspicious", Boolean, nullable=False),
    Column("corrects", Integer, ForeignKey("duty_log.id")),
    Column("written_by", String(100), nullable=False),
    Column("written_at", UTCDateTime(), nullable=False),
)

police_reports = Table(
    "police_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("monitoring_rooms.id"), nullable=False, index=True),
    Column("entry_id", Integer, ForeignKey("duty_log.id")),
    Column("seen_at", UTCDateTime(), nullable=False),
    Column("reported_at", UTCDateTime(), nullable=False),
    Column("organ", String(200), nullable=False),
    Column("organ_code", String(32), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("what", String(4000), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

room_entries = Table(
    "room_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("monitoring_rooms.id"), nullable=False, index=True),
    Column("person_name", String(100), nullable=False),
    Column("organisation", String(200), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("entered_at", UTCDateTime(), nullable=False),
    Column("left_at", UTCDateTime()),
    Column("let_in_by", String(100), nullable=False),
    Column("let_in_by_user_id", Integer, ForeignKey("users.id")),
    Column("authorised", Boolean, nullable=False),
)
