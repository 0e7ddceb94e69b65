"""Witnessed checkpoints on SQLite and PostgreSQL: a rollback of the operation log (the newest
entries deleted with every later checkpoint) passes ``custos audit verify`` but not
``verify --witness``, which names the first witnessed checkpoint the log contradicts."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from custos.adapters.audit_witness import WITNESS_FILE, CheckpointFile, WitnessFiles
from custos.bootstrap import Container, bootstrap
from custos.domain.audit import AuditEvent
from custos.domain.audit_chain import canonical_time
from custos.domain.audit_witness import parse_witness_line
from custos.domain.clock import ManualClock
from custos.domain.users import SYSTEM
from custos.entrypoints.workers.housekeeper import Housekeeper
from custos.services.audit_witness import WitnessService
from tests.integration.audit_support import EVERY, around_the_application, fill
from tests.integration.test_audit_cli import custos


@pytest.fixture
def log(container: Container, clock: ManualClock) -> Iterator[Container]:
    """Checkpoints every 10 entries; 25 entries (checkpoints 1, 11, 21) handed to the witness,
    then 20 more (checkpoints 31, 41) handed over too."""
    settings = container.settings.model_copy(update={"audit_checkpoint_every": EVERY})
    c = bootstrap(settings, clock=clock)
    assert c.witnesses is not None
    fill(c, clock, 25, per_transaction=5)
    assert c.witnesses.hand_over().handed == {f"file {witness_file(c)}": 3}
    fill(c, clock, 20, per_transaction=5)
    assert c.witnesses.hand_over().failed == {}
    yield c
    c.close()


def witness_file(c: Container) -> Path:
    return c.settings.data_dir / "witness" / WITNESS_FILE


def witnessed_sizes(c: Container) -> list[int]:
    lines = witness_file(c).read_bytes().splitlines()
    return [parse_witness_line(line).tree_size for line in lines]


def roll_back(c: Container, to: int) -> None:
    """What someone who can write the database does: drop the newest entries and every
    checkpoint that covers them (the append-only triggers out of the way on PostgreSQL)."""
    with around_the_application(c) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > :n"), {"n": to})
        conn.execute(text("DELETE FROM audit_checkpoints WHERE tree_size > :n"), {"n": to})


def public_key(c: Container) -> str:
    return str(c.settings.data_dir / "keys" / "audit-ed25519.pub")


def test_every_committed_checkpoint_is_in_the_witness_file(log: Container) -> None:
    assert witnessed_sizes(log) == [1, 11, 21, 31, 41]
    with log.uow() as uow:
        stored = uow.audit.checkpoints()
    found, refused = WitnessFiles([witness_file(log)]).read()
    assert refused == []
    assert [w.checkpoint for w in found] == stored
    assert log.witnesses is not None
    assert log.witnesses.hand_over().handed == {f"file {witness_file(log)}": 0}  # never twice


def test_a_rollback_passes_verify_but_verify_with_the_witness_names_the_checkpoint(
    log: Container,
) -> None:
    roll_back(log, 25)
    plain = custos(log, "verify", "--public-key", public_key(log))
    assert plain.returncode == 0, plain.stdout + plain.stderr  # today's hole, documented
    assert plain.stdout.startswith("OK: 25 entries, 3 signed checkpoints matched")

    witnessed = custos(
        log, "verify", "--public-key", public_key(log), "--witness", str(witness_file(log))
    )
    assert witnessed.returncode == 1, witnessed.stdout + witnessed.stderr
    # (entry 26 records the first run)
    found = json.loads(witness_file(log).read_bytes().splitlines()[3])
    assert found["tree_size"] == 31
    assert (
        f"WITNESS FAILED: witnessed checkpoint 31 (signed {found['signed_at']}, "
        f"{witness_file(log)} line 4) is contradicted: the log ends at entry 26" in witnessed.stdout
    )
    assert "Traceback" not in witnessed.stderr

    as_json = custos(log, "verify", "--witness", str(witness_file(log).parent), "--json")
    assert as_json.returncode == 1
    body = json.loads(as_json.stdout)
    assert body["ok"] is True  # the database alone looks sound
    assert body["witness"]["first_contradicted"]["tree_size"] == 31
    assert body["witness"]["upheld"] == 3


def test_a_rolled_back_log_that_grew_again_contradicts_its_witness(
    log: Container, clock: ManualClock
) -> None:
    roll_back(log, 25)
    fill(log, clock, 10, per_transaction=5)  # entries 26..35 again, checkpoint 31 re-signed
    assert log.audit.verify(SYSTEM).ok
    found, refused = WitnessFiles([witness_file(log)]).read()
    report, witness = log.audit.verify_witnessed(SYSTEM, found, refused)
    assert report.ok and not witness.ok
    bad = witness.first_contradicted
    assert bad is not None and bad.witnessed.checkpoint.tree_size == 31
    assert "entries in 22..31 were changed or replaced" in bad.reason


def test_a_rollback_after_the_last_witnessed_checkpoint_goes_unseen(
    log: Container, clock: ManualClock
) -> None:
    """The limit the design note states: what no witness holds cannot be missed."""
    fill(log, clock, 10, per_transaction=5)  # checkpoint 51, not handed over
    roll_back(log, 45)
    found, refused = WitnessFiles([witness_file(log)]).read()
    report, witness = log.audit.verify_witnessed(SYSTEM, found, refused)
    assert report.ok and witness.ok
    assert witness.newest_upheld is not None
    assert witness.newest_upheld.checkpoint.tree_size == 41


def test_an_untouched_log_passes_with_its_witnesses(log: Container) -> None:
    r = custos(
        log, "verify", "--public-key", public_key(log), "--witness", str(witness_file(log).parent)
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert (
        "WITNESSED: the log extends 5 witnessed checkpoints; the newest is witnessed " in r.stdout
    )
    assert "4 entries after it" in r.stdout  # 42..45; the verification is entry 46


def test_a_forged_witness_line_is_refused_naming_the_line(log: Container) -> None:
    path = witness_file(log)
    lines = path.read_bytes().splitlines(keepends=True)
    forged = json.loads(lines[2])
    forged["root"] = "00" * 32  # a root the key never signed
    path.write_bytes(b"".join(lines) + json.dumps(forged).encode() + b"\n" + b'{"tree_size": 7\n')
    r = custos(log, "verify", "--public-key", public_key(log), "--witness", str(path))
    assert r.returncode == 1, r.stdout + r.stderr
    assert (
        f"WITNESS REFUSED: {path} line 6: checkpoint 21: the signature does not verify" in r.stdout
    )
    assert f"WITNESS REFUSED: {path} line 7: not a checkpoint: not JSON" in r.stdout
    assert "the log extends 5 witnessed checkpoints" in r.stdout  # the sound lines still count
    assert "Traceback" not in r.stderr


def test_a_missing_witness_is_a_clear_error_without_a_traceback(
    log: Container, tmp_path: Path
) -> None:
    r = custos(log, "verify", "--witness", str(tmp_path / "nowhere.jsonl"))
    assert r.returncode == 2
    assert f"cannot read the witness: {tmp_path / 'nowhere.jsonl'}: no such" in r.stderr
    assert "Traceback" not in r.stderr
    (tmp_path / "empty").mkdir()
    r = custos(log, "verify", "--witness", str(tmp_path / "empty"))
    assert r.returncode == 2 and "no witness files (*.jsonl) in it" in r.stderr
    r = custos(log, "verify", "--witness-objectstore")
    assert r.returncode == 2 and "no object store is configured" in r.stderr


def test_a_failing_witness_does_not_stop_checkpointing_and_catches_up_later(
    container: Container, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "witness"
    blocked.write_text("a file where the witness directory should be")
    settings = container.settings.model_copy(
        update={"audit_checkpoint_every": EVERY, "audit_witness_dir": blocked}
    )
    c = bootstrap(settings, clock=clock)
    try:
        assert c.witnesses is not None
        fill(c, clock, 15, per_transaction=5)
        with caplog.at_level(logging.WARNING, logger="custos.services.audit_witness"):
            failed = c.witnesses.hand_over()
        assert list(failed.failed) == [f"file {blocked / WITNESS_FILE}"]
        assert "failed, retried at the next pass" in caplog.text
        fill(c, clock, 20, per_transaction=5)  # the log goes on: checkpoints 21 and 31
        with c.uow() as uow:
            assert [cp.tree_size for cp in uow.audit.checkpoints()] == [1, 11, 21, 31]
        blocked.unlink()  # the witness is back
        done = c.witnesses.hand_over()
        assert done.failed == {} and done.handed == {f"file {blocked / WITNESS_FILE}": 4}
        lines = (blocked / WITNESS_FILE).read_bytes().splitlines()
        assert [parse_witness_line(x).tree_size for x in lines] == [1, 11, 21, 31]
    finally:
        c.close()


def test_only_committed_checkpoints_are_handed_over(
    container: Container, clock: ManualClock
) -> None:
    c = container
    assert c.witnesses is not None
    with c.uow() as uow:
        uow.audit.append(AuditEvent(clock.now(), "t", "test.first", "x", "1"))
        # no commit: the first entry's checkpoint is signed, then rolled back
    assert not c.witnesses.wait_for_checkpoint(0)
    assert c.witnesses.hand_over().handed == {f"file {witness_file(c)}": 0}
    with c.uow() as uow:
        uow.audit.append(AuditEvent(clock.now(), "t", "test.first", "x", "1"))
        uow.commit()
    assert c.witnesses.wait_for_checkpoint(0)  # the commit woke the witness thread
    c.witnesses.hand_over()
    assert witnessed_sizes(c) == [1]


def test_the_housekeeper_hands_a_new_checkpoint_over_at_once(
    container: Container, clock: ManualClock
) -> None:
    keeper = Housekeeper(container, every_s=30.0)  # far longer than the wait below
    keeper.start()
    try:
        time.sleep(0.2)  # the witness thread's first pass, with nothing to hand over
        with container.uow() as uow:
            uow.audit.append(AuditEvent(clock.now(), "t", "test.first", "x", "1"))
            uow.commit()
        deadline = time.monotonic() + 10
        while not witness_file(container).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert witnessed_sizes(container) == [1]
    finally:
        keeper.stop()


def test_a_line_cut_short_by_a_crash_stays_alone(container: Container, clock: ManualClock) -> None:
    fill(container, clock, 1)
    with container.uow() as uow:
        cp = uow.audit.latest_checkpoint()
    assert cp is not None
    directory = container.settings.data_dir / "witness"
    directory.mkdir()
    (directory / WITNESS_FILE).write_bytes(b'{"chain":"ab')
    file = CheckpointFile(directory)
    assert file.witnessed_size() == 0
    file.witness(cp)
    assert file.witnessed_size() == 1
    found, refused = WitnessFiles([directory]).read()
    assert [w.source for w in found] == [f"{directory / WITNESS_FILE} line 2"]
    assert [r.source for r in refused] == [f"{directory / WITNESS_FILE} line 1"]
    assert canonical_time(found[0].checkpoint.signed_at) == canonical_time(cp.signed_at)


def test_witness_service_refuses_an_unbounded_pass(container: Container) -> None:
    with pytest.raises(ValueError, match="over 1"):
        WitnessService(container.uow, [], limit=0)


def test_an_export_of_a_rolled_back_log_is_caught_offline(log: Container, tmp_path: Path) -> None:
    roll_back(log, 25)
    out = tmp_path / "audit.jsonl"
    assert custos(log, "export", "--out", str(out)).returncode == 0
    r = custos(log, "verify", "--from-export", str(out), "--witness", str(witness_file(log)))
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith("OK: 26 entries")  # the export alone is sound
    assert "WITNESS FAILED: witnessed checkpoint 31 " in r.stdout
    assert "the log ends at entry 26" in r.stdout
