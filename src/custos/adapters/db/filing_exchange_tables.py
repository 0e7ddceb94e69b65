"""Filings received from other systems (a bureau's Custos importing ``custos-filing/1`` files;
docs/design/filing.md, "Filings received from another system"). Created by migration 0023.

No site or unit of this registry is referred to: the filed facts are in the package, stored in
the document store by hash; ``body`` (JSON) holds them as shown in lists, the manifest's
submission, the sender's key fingerprint, the decision and the history.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text, UniqueConstraint

from custos.adapters.db.tables import UTCDateTime, metadata

filing_receipts = Table(
    "filing_receipts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("division_code", String(6), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("receipt_number", String(64), nullable=False),
    Column("package_sha256", String(64), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("receipt_number", "package_sha256", name="uq_filing_receipts_submission"),
)
