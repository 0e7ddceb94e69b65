"""Tables of migration 0017: the staff archive and trainings; inspection schedules,
inspections, work orders, contractors and their entrustment agreements, assessments; emergency
plans and drills (issue 14 §4)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, ForeignKey, Integer, LargeBinary, String, Table

from custos.adapters.db.tables import UTCDateTime, metadata

contractors = Table(
    "contractors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("maintains", Boolean, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

entrustment_agreements = Table(
    "entrustment_agreements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("contractor_id", Integer, ForeignKey("contractors.id"), nullable=False, index=True),
    Column("signed_on", Date, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date),
    Column("scope", String(1000), nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

staff_members = Table(
    "staff_members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("id_number_secret", LargeBinary, nullable=False),  # sealed by the secret box
    Column("id_number_masked", String(18), nullable=False),
    Column("hired_on", Date, nullable=False),
    Column("left_on", Date),
    Column("contractor_id", Integer, ForeignKey("contractors.id")),
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

trainings = Table(
    "trainings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("held_on", Date, nullable=False),
    Column("contents", JSON, nullable=False),
    Column("trainer", String(100), nullable=False),
    Column("hours", Integer, nullable=False),
    Column("attendee_ids", JSON, nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

inspection_schedules = Table(
    "inspection_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("camera_id", Integer, ForeignKey("cameras.id")),
    Column("interval_days", Integer, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

inspections = Table(
    "inspections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "schedule_id", Integer, ForeignKey("inspection_schedules.id"), nullable=False, index=True
    ),
    Column("done_on", Date, nullable=False),
    Column("staff_id", Integer, ForeignKey("staff_members.id"), nullable=False),
    Column("result", String(20), nullable=False),
    Column("note", String(2000), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False),
    Column("camera_id", Integer, ForeignKey("cameras.id")),
    Column("alarm_id", Integer, ForeignKey("alarms.id")),
    Column("description", String(2000), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("opened_by", String(100), nullable=False),
    Column("state", String(20), nullable=False),
    Column("assignee_staff_id", Integer, ForeignKey("staff_members.id")),
    Column("assignee_contractor_id", Integer, ForeignKey("contractors.id")),
    Column("assigned_at", UTCDateTime()),
    Column("repaired_at", UTCDateTime()),
    Column("repaired_by", String(100)),
    Column("repair_note", String(2000), nullable=False),
    Column("verified_at", UTCDateTime()),
    Column("verified_by", String(100)),
)

assessments = Table(
    "assessments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("done_on", Date, nullable=False),
    Column("assessor", String(200), nullable=False),
    Column("effectiveness", String(2000), nullable=False),
    Column("security", String(2000), nullable=False),
    Column("conclusion", String(20), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

emergency_plans = Table(
    "emergency_plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("version", String(50), nullable=False),
    Column("approved_on", Date, nullable=False),
    Column("approved_by", String(100), nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

drills = Table(
    "drills",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("held_on", Date, nullable=False),
    Column("scenario", String(1000), nullable=False),
    Column("participant_ids", JSON, nullable=False),
    Column("findings", String(2000), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)
