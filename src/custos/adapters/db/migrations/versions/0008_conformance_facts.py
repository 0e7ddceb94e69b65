"""conformance facts: government-invested sites, network interruptions, footage imports

- ``sites.government_invested``: the system was built with government investment (政府投资建设,
  Liaoning art. 13 signage); ``sites.division_name``: the county's name (西安市雁塔区), which
  names the public-security organ that receives the site's filings;
- ``network_interruptions``: a carrier's interruption of a site's network (cause, start, end,
  carrier; Xi'an art. 26 ¶2: at most 3 days for municipal works);
- ``footage_imports``: footage brought in from another recorder (a legacy NVR), with the source
  file's SHA-256; its segments are indexed with run id ``import-<id>``.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custos.adapters.db.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(
            sa.Column(
                "government_invested", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(
            sa.Column("division_name", sa.String(60), nullable=False, server_default="")
        )
    op.create_table(
        "network_interruptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), nullable=False, index=True),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
        sa.Column("carrier", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "footage_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "camera_id", sa.Integer(), sa.ForeignKey("cameras.id"), nullable=False, index=True
        ),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("source_bytes", sa.BigInteger(), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(2000), nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("footage_imports")
    op.drop_table("network_interruptions")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("division_name")
        batch.drop_column("government_invested")
