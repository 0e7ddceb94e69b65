"""Operation-log throughput on SQLite and PostgreSQL: appends with durable batched commits, and
verification of a log of a million entries. Not part of the test suite.

    .venv/bin/python bench/audit_append.py                      # both backends, 1M to verify
    .venv/bin/python bench/audit_append.py --backends sqlite --entries 50000 --verify-entries 200000

Every figure is printed beside a baseline measured in the same process, on the same machine:
a plain INSERT of the same rows (JSON text, no canonical form, no hashing, no append lock, no
checkpoints) for appends, and bare ``hashlib`` SHA-256 over the same entry bytes for
verification. PostgreSQL comes from $CUSTOS_TEST_POSTGRES_URL (a scratch database is created and
dropped). Commits are durable: SQLite in WAL with synchronous=FULL, PostgreSQL with its defaults.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, insert, text
from sqlalchemy.engine import make_url

from custos.adapters.db.migrate import upgrade
from custos.adapters.db.tables import UTCDateTime
from custos.adapters.signing import TrustedKeys
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.audit import AuditEvent
from custos.domain.users import SYSTEM
from custos.services.audit_log import verify_export

PG_ADMIN = os.environ.get(
    "CUSTOS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PER_TRANSACTION = 1000
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def events(start: int, n: int) -> list[AuditEvent]:
    """Entries shaped like the real ones: registered views and playbacks with a purpose."""
    out = []
    for i in range(start, start + n):
        action = ("camera.view", "camera.playback", "export.create", "auth.login")[i % 4]
        out.append(
            AuditEvent(
                T0 + timedelta(microseconds=i * 1000),
                f"operator{i % 40}",
                action,
                "camera",
                str(i % 997),
                detail={
                    "purpose": "日常巡查 routine patrol",
                    "unit_id": i % 13,
                    "range": ["2026-11-20T01:00:00Z", "2026-11-20T02:00:00Z"],
                    "registration": i,
                },
            )
        )
    return out


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


@contextmanager
def scratch_custos(backend: str) -> Iterator[Container]:
    with tempfile.TemporaryDirectory(prefix="custos-bench-") as tmp:
        url = None
        admin = None
        name = f"custos_bench_{secrets.token_hex(4)}"
        if backend == "postgresql":
            admin = create_engine(make_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url)
        upgrade(settings.resolved_database_url())
        c = bootstrap(settings)
        try:
            yield c
        finally:
            c.close()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def plain_insert(c: Container, evs: list[AuditEvent]) -> float:
    """Baseline: the same rows as ordinary columns with JSON text, nothing chained."""
    plain = Table(
        "bench_plain",
        MetaData(),
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("at", UTCDateTime(), nullable=False),
        Column("actor", String(64)),
        Column("action", String(64)),
        Column("object_type", String(32)),
        Column("object_id", String(64)),
        Column("outcome", String(16)),
        Column("detail", Text),
    )
    plain.create(c.engine)
    rows = [
        {
            "seq": i,
            "at": e.at,
            "actor": e.actor,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "outcome": e.outcome.value,
            "detail": json.dumps(e.detail),
        }
        for i, e in enumerate(evs, start=1)
    ]
    t = time.perf_counter()
    for i in range(0, len(rows), PER_TRANSACTION):
        with c.engine.begin() as conn:
            conn.execute(insert(plain), rows[i : i + PER_TRANSACTION])
    return time.perf_counter() - t


def chained_append(c: Container, evs: list[AuditEvent], one_by_one: bool = False) -> float:
    t = time.perf_counter()
    for i in range(0, len(evs), PER_TRANSACTION):
        with c.uow() as uow:
            chunk = evs[i : i + PER_TRANSACTION]
            if one_by_one:
                for e in chunk:
                    uow.audit.append(e)
            else:
                uow.audit.append_many(chunk)
            uow.commit()
    return time.perf_counter() - t


def grow_to(c: Container, n: int) -> None:
    with c.uow() as uow:
        have = uow.audit.size()
    step = 20 * PER_TRANSACTION
    while have < n:
        chained_append(c, events(have, min(step, n - have)))
        have += min(step, n - have)


def hashing_baseline(c: Container, n: int) -> tuple[float, float, int]:
    """Bare hashlib on the very entry bytes: one SHA-256 per entry in a list comprehension,
    and one SHA-256 over all of them at once (the C throughput ceiling)."""
    with c.uow() as uow:
        entries = uow.audit.span(0, n).entries
    total = sum(len(e) for e in entries)
    sha = hashlib.sha256
    per_entry = best_of(3, lambda: [sha(b"\x00" + e).digest() for e in entries])
    blob = b"".join(entries)
    bulk = best_of(3, lambda: sha(blob).digest())
    return per_entry, bulk, total


def row(backend: str, what: str, value: str, ratio: str) -> None:
    print(f"{backend:<11} {what:<52} {value:>16}   {ratio}")


def run(backend: str, n_append: int, n_verify: int) -> None:
    with scratch_custos(backend) as c:
        evs = events(0, n_append)
        base = plain_insert(c, evs)
        many = chained_append(c, evs)
        single_n = min(n_append, 50_000)
        single = chained_append(c, events(n_append, single_n), one_by_one=True)
        base_rate, many_rate, single_rate = n_append / base, n_append / many, single_n / single
        row(
            backend,
            f"plain INSERT, {PER_TRANSACTION}/commit (baseline)",
            f"{base_rate:,.0f}/s",
            "1.00",
        )
        row(
            backend,
            f"chained append_many, {PER_TRANSACTION}/commit",
            f"{many_rate:,.0f}/s",
            f"{many_rate / base_rate:.2f} x plain insert",
        )
        row(
            backend,
            f"chained append() x{PER_TRANSACTION} per commit",
            f"{single_rate:,.0f}/s",
            f"{single_rate / base_rate:.2f} x plain insert",
        )

        grow_to(c, n_verify)
        report = c.audit.verify(SYSTEM)
        assert report.ok, report.first_bad
        verify_s = best_of(3, lambda: c.audit.verify(SYSTEM))
        per_entry, bulk, total = hashing_baseline(c, n_verify)
        row(
            backend,
            f"verify {n_verify:,} entries from the database",
            f"{verify_s:.2f} s",
            f"{verify_s / per_entry:.1f} x one bare SHA-256 per entry ({per_entry:.2f} s); "
            f"{verify_s / bulk:.0f} x hashlib over the same {total / 1e6:.0f} MB ({bulk:.2f} s)",
        )

        buf = io.BytesIO()
        export_s = best_of(1, lambda: c.audit.export(SYSTEM, buf.write))
        lines = buf.getvalue().splitlines(keepends=True)
        trust = TrustedKeys.of(c.audit.public_key)
        offline_s = best_of(2, lambda: verify_export(lines, lambda _: trust))
        offline, _ = verify_export(lines, lambda _: trust)
        assert offline.ok, offline.first_bad
        row(
            backend,
            f"export {len(lines) - 1:,} lines ({len(buf.getvalue()) / 1e6:.0f} MB)",
            f"{export_s:.2f} s",
            "",
        )
        row(
            backend,
            "verify that export offline",
            f"{offline_s:.2f} s",
            f"{offline_s / per_entry:.1f} x one bare SHA-256 per entry",
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    p.add_argument("--entries", type=int, default=200_000, help="entries appended per run")
    p.add_argument("--verify-entries", type=int, default=1_000_000)
    args = p.parse_args()
    print(
        f"{os.cpu_count()} CPUs; {PER_TRANSACTION} entries per transaction; checkpoint every 1000"
    )
    for backend in args.backends:
        run(backend, args.entries, args.verify_entries)


if __name__ == "__main__":
    main()
