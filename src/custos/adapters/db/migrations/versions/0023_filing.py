"""Filing with the police (issue 15: the filing package and the case loop)

- ``filing_profiles``: one JSON per site, what the registry does not hold (units other than the
  user, responsible persons, network, documents) (docs/design/filing.md D2).
- ``filing_cases``: one row per filing case; the recipient, due date, citations, submissions,
  history and diff as JSON in ``body`` (D3).
- ``filing_receipts``: filings a bureau imported from another system (``custos-filing/1``), with
  no site of this registry: the package's facts, the decision and the history in ``body``.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custos.adapters.db.tables import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "filing_profiles",
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "filing_cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("filing_id", sa.Integer(), sa.ForeignKey("filings.id")),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_filing_cases_site_id", "filing_cases", ["site_id"])
    op.create_index("ix_filing_cases_state", "filing_cases", ["state"])
    op.create_table(
        "filing_receipts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("division_code", sa.String(6), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("receipt_number", sa.String(64), nullable=False),
        sa.Column("package_sha256", sa.String(64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint(
            "receipt_number", "package_sha256", name="uq_filing_receipts_submission"
        ),
    )
    op.create_index("ix_filing_receipts_division_code", "filing_receipts", ["division_code"])


def downgrade() -> None:
    op.drop_index("ix_filing_receipts_division_code", table_name="filing_receipts")
    op.drop_table("filing_receipts")
    op.drop_index("ix_filing_cases_state", table_name="filing_cases")
    op.drop_index("ix_filing_cases_site_id", table_name="filing_cases")
    op.drop_table("filing_cases")
    op.drop_table("filing_profiles")
