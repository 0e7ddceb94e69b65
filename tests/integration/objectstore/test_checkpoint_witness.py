"""The object store as a witness of the operation log's checkpoints, in a real SeaweedFS with
Object Lock, on SQLite and PostgreSQL: one locked object per checkpoint, never a segment to the
offloader's check, and ``custos audit verify --witness-objectstore`` naming a rollback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import text

from custos.adapters.storage.checkpoint_objects import CheckpointObjects
from custos.adapters.storage.object_store import CHECKPOINT_FOLDER
from custos.bootstrap import Container, bootstrap, checkpoint_objects
from custos.domain.audit_witness import witness_line
from custos.domain.clock import ManualClock
from tests.integration.audit_support import EVERY, around_the_application, fill
from tests.integration.objectstore.conftest import Target
from tests.integration.test_audit_cli import custos


@pytest.fixture
def log(container: Container, clock: ManualClock) -> Iterator[Container]:
    """Checkpoints every 10 entries; 25 entries, so checkpoints 1, 11 and 21, handed over."""
    settings = container.settings.model_copy(update={"audit_checkpoint_every": EVERY})
    c = bootstrap(settings, clock=clock)
    fill(c, clock, 25, per_transaction=5)
    assert c.witnesses is not None
    done = c.witnesses.hand_over()
    assert done.failed == {} and sorted(done.handed.values()) == [3, 3], done
    yield c
    c.close()


def objects(c: Container) -> CheckpointObjects:
    return checkpoint_objects(c.settings)


def test_each_checkpoint_is_one_locked_object_never_taken_for_a_segment(
    log: Container, s3: Target
) -> None:
    with log.uow() as uow:
        stored = uow.audit.checkpoints()
    store = s3.store()
    for cp in stored:
        key = objects(log).key_of(cp.tree_size)
        assert key == f"{s3.prefix}{CHECKPOINT_FOLDER}{cp.tree_size:020d}.json"
        info = store.stat(key)
        assert info is not None and info.lock_mode == "COMPLIANCE"
        assert info.retain_until is not None
        assert abs(info.retain_until - (cp.signed_at + timedelta(days=30))) < timedelta(seconds=1)
        assert store.get_small(key, 4096) == witness_line(cp)
        with pytest.raises(ClientError) as denied:
            s3.raw().delete_object(Bucket=s3.bucket, Key=key, VersionId=info.version_id)
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert list(store.list_keys()) == []  # the offloader's check sees no stray segment
    assert objects(log).witnessed_size() == 21
    found, refused = objects(log).read()
    assert [w.checkpoint for w in found] == stored and refused == []


def test_a_rollback_is_named_from_the_object_store(log: Container, s3: Target) -> None:
    with around_the_application(log) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > 15"))
        conn.execute(text("DELETE FROM audit_checkpoints WHERE tree_size > 15"))
    pub = str(log.settings.data_dir / "keys" / "audit-ed25519.pub")
    assert custos(log, "verify", "--public-key", pub).returncode == 0  # the hole, documented
    r = custos(log, "verify", "--public-key", pub, "--witness-objectstore", "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    bad = json.loads(r.stdout)["witness"]["first_contradicted"]
    assert bad["tree_size"] == 21
    assert bad["source"] == f"s3://{s3.bucket}/{s3.prefix}{CHECKPOINT_FOLDER}{21:020d}.json"
    assert "the log ends at entry 16" in bad["reason"]  # 16: the first run's own entry


def test_a_forged_object_is_refused_naming_its_key(log: Container, s3: Target) -> None:
    key = objects(log).key_of(11)
    body = json.loads(s3.store().get_small(key, 4096) or b"")
    body["root"] = "11" * 32
    # Versioning keeps the locked original; a new version on top is what a reader gets.
    s3.raw().put_object(Bucket=s3.bucket, Key=key, Body=json.dumps(body).encode())
    r = custos(log, "verify", "--witness-objectstore")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"WITNESS REFUSED: s3://{s3.bucket}/{key}: checkpoint 11: the signature" in r.stdout
    assert "the log extends 2 witnessed checkpoints" in r.stdout
