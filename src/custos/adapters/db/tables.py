"""The relational schema (SQLAlchemy Core). Alembic migrations are the source of truth on disk."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: Custos stores UTC-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

units = Table(
    "units",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("contacts", JSON, nullable=False),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("division_code", String(6), nullable=False, index=True),
    Column("address", String(500), nullable=False),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("is_public_place", Boolean, nullable=False),
    Column("public_place_article", String(16), nullable=False),
    Column("is_public_road_or_square", Boolean, nullable=False),
    Column("is_classified", Boolean, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("site_type", String(16), nullable=False),
    Column("government_invested", Boolean, nullable=False, server_default=false()),  # 0008
    Column("division_name", String(60), nullable=False, server_default=""),  # 0008
)

cameras = Table(
    "cameras",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False, index=True),
    Column("address_code", String(20), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("device_type", String(100), nullable=False),
    Column("manufacturer", String(100), nullable=False),
    Column("model", String(100), nullable=False),
    Column("install_position", String(500), nullable=False),
    Column("field_of_view", String(500), nullable=False),
    Column("location_categories", JSON, nullable=False),
    Column("covers_public_area", Boolean, nullable=False),
    Column("captures_outside_premises", Boolean, nullable=False),
    Column("signage_installed", Boolean, nullable=False),
    Column("signage_installed_on", Date),
    Column("signage_photo_ref", String(500)),
    Column("main_stream_url", String(1000)),
    Column("main_stream_secret", LargeBinary),
    Column("sub_stream_url", String(1000)),
    Column("sub_stream_secret", LargeBinary),
    Column("retention_days", Integer),
    Column("ptz", Boolean, nullable=False),
)

camera_lifecycle = Table(
    "camera_lifecycle",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False, index=True),
    Column("state", String(32), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

filings = Table(
    "filings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False, index=True),
    Column("camera_id", Integer, ForeignKey("cameras.id")),
    Column("kind", String(16), nullable=False),
    Column("trigger_date", Date, nullable=False),
    Column("filed_on", Date),
    Column("recipient", String(200), nullable=False),
    Column("receipt_number", String(100), nullable=False),
    Column("note", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id")),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("first_failure_at", UTCDateTime()),
    Column("locked_until", UTCDateTime()),
    Column("full_name", String(100), nullable=False, server_default=""),
    Column("jurisdiction", String(6)),
    Column("approver_title", String(64)),
    Column("scopes", Text, nullable=False, server_default="[]"),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

# The operation log: append-only (a PostgreSQL trigger refuses UPDATE, DELETE and TRUNCATE).
# ``entry`` is the canonical JSON of the entry, the very text the leaf hash covers: there is no
# second copy of any field that could be edited apart from it (docs/design/audit.md).
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("entry", Text, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("chain_hash", LargeBinary(32), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("tree_size", Integer, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("chain_hash", LargeBinary(32), nullable=False),
    Column("signed_at", UTCDateTime(), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    # Unsigned working state: the perfect-subtree roots at tree_size, to extend the tree from.
    Column("frontier", LargeBinary, nullable=False),
)
