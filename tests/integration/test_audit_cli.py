"""`custos audit verify / export / checkpoint` as an auditor runs them: a real process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from custos.adapters.signing import Ed25519Signer
from custos.bootstrap import Container
from custos.domain.clock import ManualClock
from tests.integration.audit_support import around_the_application, checkpointing_every_10, fill


@pytest.fixture
def log(container: Container, clock: ManualClock) -> Iterator[Container]:
    c = checkpointing_every_10(container, clock)
    fill(c, clock, 25, per_transaction=5)
    yield c
    c.close()


def custos(c: Container, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"CUSTOS_DATA_DIR": str(c.settings.data_dir)}
    env.pop("CUSTOS_DATABASE_URL", None)
    if c.settings.database_url:
        env["CUSTOS_DATABASE_URL"] = c.settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "custos", "audit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_verify_passes_a_sound_log_and_names_the_first_bad_entry_of_a_tampered_one(
    log: Container,
) -> None:
    ok = custos(log, "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: 25 entries, 3 signed checkpoints matched")
    with around_the_application(log) as conn:
        conn.execute(
            text(
                'UPDATE audit_events SET entry = replace(entry, \'"outcome":"ok"\', '
                '\'"outcome":"refused"\') WHERE seq = 12'
            )
        )
    bad = custos(log, "verify", "--json")
    assert bad.returncode == 1, bad.stderr
    assert json.loads(bad.stdout)["first_bad"]["seq"] == 12
    assert json.loads(bad.stdout)["first_bad"]["problem"] == "edited"


def test_an_export_verifies_offline_and_an_edit_to_it_is_named(
    log: Container, tmp_path: Path
) -> None:
    out = tmp_path / "audit.jsonl"
    made = custos(log, "export", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    pub = log.settings.data_dir / "keys" / "audit-ed25519.pub"

    offline = custos(log, "verify", "--from-export", str(out), "--public-key", str(pub))
    assert offline.returncode == 0, offline.stdout + offline.stderr
    # 25 entries + the one recording the export, all under the checkpoint signed for it.
    assert offline.stdout.startswith("OK: 26 entries, 4 signed checkpoints matched")
    unpinned = custos(log, "verify", "--from-export", str(out))
    assert unpinned.returncode == 0
    assert "pin the key you expect with --public-key" in unpinned.stdout

    lines = out.read_bytes().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if b'"seq":7}' in line)
    lines[at] = lines[at].replace(b'"actor":"operator1"', b'"actor":"operator2"')
    out.write_bytes(b"".join(lines))
    tampered = custos(log, "verify", "--from-export", str(out))
    assert tampered.returncode == 1
    assert "FAILED at seq 7: edited" in tampered.stdout


def test_a_pinned_key_refuses_checkpoints_signed_by_any_other(log: Container) -> None:
    stranger = Ed25519Signer.generate().public_key.hex()
    r = custos(log, "verify", "--public-key", stranger)
    assert r.returncode == 1
    assert "FAILED at seq 1: bad_signature" in r.stdout


def test_checkpoint_on_demand(log: Container) -> None:
    r = custos(log, "checkpoint")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("signed checkpoint 25: root ")
    again = custos(log, "checkpoint")
    assert "already covers the whole log" in again.stdout
