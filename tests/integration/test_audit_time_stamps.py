"""An RFC 3161 time-stamp authority as a witness (docs/design/evidence.md), against a TSA we did
not write: OpenSSL's ``openssl ts -reply`` on loopback. Checkpoints are stamped as they are
witnessed, a TSA that is down is caught up with later, and ``custos audit verify --witness
<store>`` names the first token that does not prove what it should."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from custos.adapters.time_stamps import (
    STORE_DIR,
    TimeStampAuthority,
    TimeStampFiles,
    TimeStampWitness,
    TokenRejectedError,
    check_token,
    tsa_certificates,
)
from custos.bootstrap import Container, bootstrap
from custos.domain.audit_witness import parse_witness_line
from custos.domain.clock import ManualClock
from custos.entrypoints.cli.main import main
from tests.integration.audit_support import EVERY, fill
from tests.integration.test_audit_cli import custos
from tests.integration.tsa_support import OpenSslTsa, make_ca, openssl, openssl_tsa, run


@pytest.fixture
def backend() -> str:
    """The TSA does not care which database holds the log: SQLite only, to keep this short."""
    return "sqlite"


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[OpenSslTsa]:
    with openssl_tsa(tmp_path / "tsa") as running:
        yield running


def stamping(container: Container, clock: ManualClock, url: str, cert: Path) -> Container:
    settings = container.settings.model_copy(
        update={
            "audit_checkpoint_every": EVERY,
            "audit_tsa_url": SecretStr(url),
            "audit_tsa_cert": cert,
        }
    )
    return bootstrap(settings, clock=clock)


@pytest.fixture
def log(container: Container, clock: ManualClock, tsa: OpenSslTsa) -> Iterator[Container]:
    """25 entries (checkpoints 1, 11, 21) witnessed, the TSA among the witnesses."""
    c = stamping(container, clock, tsa.url, tsa.ca)
    fill(c, clock, 25, per_transaction=5)
    assert c.witnesses is not None
    done = c.witnesses.hand_over()
    assert done.failed == {}
    assert done.handed[f"tsa {tsa.url}"] == 3
    yield c
    c.close()


def store(c: Container) -> Path:
    return c.settings.data_dir / "witness" / STORE_DIR


def pair(c: Container, size: int) -> tuple[Path, Path]:
    stem = store(c) / f"{size:020d}"
    return stem.with_suffix(".json"), stem.with_suffix(".tsr")


@dataclass(frozen=True)
class Verified:
    returncode: int
    stdout: str
    stderr: str


def verify(c: Container, *more: str) -> Verified:
    """``custos audit verify --witness <store>`` in this process (a fresh one costs seconds)."""
    env = {"CUSTOS_DATA_DIR": str(c.settings.data_dir), "CUSTOS_DATABASE_URL": None}
    args = ["audit", "verify", "--witness", str(store(c)), *more]
    result = CliRunner().invoke(main, args, env=env)
    assert isinstance(result.exception, SystemExit | None), result.exception  # no traceback
    return Verified(result.exit_code, result.stdout, result.stderr)


def test_each_new_checkpoint_is_stamped_and_openssl_itself_accepts_the_token(
    log: Container, tsa: OpenSslTsa
) -> None:
    with log.uow() as uow:
        stored = uow.audit.checkpoints()
    assert sorted(p.name for p in store(log).iterdir()) == sorted(
        f"{cp.tree_size:020d}.{ext}" for cp in stored for ext in ("json", "tsr")
    )
    for cp in stored:
        line, token = pair(log, cp.tree_size)
        assert parse_witness_line(line.read_bytes().rstrip(b"\n")) == cp
        # the pair stands alone: OpenSSL checks it without Custos
        said = run(
            "ts", "-verify", "-data", str(line), "-in", str(token), "-CAfile", str(tsa.ca),
            cwd=store(log),
        )  # fmt: skip
        assert b"Verification: OK" in said
    assert log.witnesses is not None
    assert log.witnesses.hand_over().handed[f"tsa {tsa.url}"] == 0  # never stamped twice
    assert tsa.requests == 3
    # a second process that stamps checkpoint 21 again leaves the first token as it was
    kept = pair(log, 21)[1].read_bytes()
    TimeStampWitness(TimeStampAuthority(tsa.url), store(log)).witness(stored[-1])
    assert tsa.requests == 4 and pair(log, 21)[1].read_bytes() == kept


def test_verify_checks_every_token_and_says_what_they_prove(
    log: Container, tsa: OpenSslTsa
) -> None:
    r = custos(log, "verify", "--witness", str(store(log)), "--tsa-cert", str(tsa.ca))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "WITNESSED: the log extends 3 witnessed checkpoints" in r.stdout
    assert "note: time-stamped: 3 checkpoints with a sound token; checkpoint 21 existed by " in (
        r.stdout
    )


def test_a_token_for_another_checkpoint_is_named(log: Container, tsa: OpenSslTsa) -> None:
    pair(log, 21)[1].write_bytes(pair(log, 11)[1].read_bytes())
    r = verify(log, "--tsa-cert", str(tsa.ca))
    assert r.returncode == 1, r.stdout + r.stderr
    assert (
        f"WITNESS REFUSED: {pair(log, 21)[1]}: checkpoint 21: time-stamp token refused: it "
        "stamps another message" in r.stdout
    )
    assert "checkpoint 11: time-stamp" not in r.stdout and "Traceback" not in r.stderr
    assert "the log extends 3 witnessed checkpoints" in r.stdout  # its checkpoint still counts


def test_a_flipped_byte_in_a_token_is_named(log: Container, tsa: OpenSslTsa) -> None:
    token = bytearray(pair(log, 11)[1].read_bytes())
    token[-3] ^= 0x01  # inside the TSA's signature, the last thing in the token
    pair(log, 11)[1].write_bytes(bytes(token))
    r = verify(log, "--tsa-cert", str(tsa.ca))
    assert r.returncode == 1, r.stdout + r.stderr
    refused = [x for x in r.stdout.splitlines() if x.startswith("WITNESS REFUSED")]
    assert len(refused) == 1
    assert refused[0].startswith(
        f"WITNESS REFUSED: {pair(log, 11)[1]}: checkpoint 11: time-stamp token refused: its "
        "signature does not verify under the TSA CA"
    )
    assert "Traceback" not in r.stderr


def test_a_token_under_another_tsa_ca_is_refused(
    log: Container, tsa: OpenSslTsa, tmp_path: Path
) -> None:
    stranger = make_ca(tmp_path / "stranger", "Someone else's CA")
    r = verify(log, "--tsa-cert", str(stranger))
    assert r.returncode == 1, r.stdout + r.stderr
    first = next(x for x in r.stdout.splitlines() if x.startswith("WITNESS REFUSED"))
    assert first.startswith(
        f"WITNESS REFUSED: {pair(log, 1)[1]}: checkpoint 1: time-stamp token refused: its "
        "signature does not verify under the TSA CA"
    )


def test_a_store_without_a_tsa_certificate_cannot_be_checked(
    log: Container, tmp_path: Path
) -> None:
    r = verify(log)
    assert r.returncode == 2
    assert "holds time-stamp tokens: give --tsa-cert" in r.stderr
    (tmp_path / "not-a-cert.pem").write_text("hello")
    r = verify(log, "--tsa-cert", str(tmp_path / "not-a-cert.pem"))
    assert r.returncode == 2 and "holds no PEM certificate" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_tsa_that_is_down_never_stops_the_log_and_is_caught_up_with(
    container: Container,
    clock: ManualClock,
    tsa: OpenSslTsa,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user_url = tsa.url.replace("http://", "http://stamper:hunter2@")
    c = stamping(container, clock, user_url, tsa.ca)
    try:
        assert c.witnesses is not None
        tsa.down = True
        fill(c, clock, 15, per_transaction=5)
        with caplog.at_level(logging.WARNING):
            failed = c.witnesses.hand_over()
        assert list(failed.failed) == [f"tsa {tsa.url}"]  # named without its password
        assert "HTTP 503" in failed.failed[f"tsa {tsa.url}"]
        assert "hunter2" not in caplog.text and "retried at the next pass" in caplog.text
        assert failed.handed[f"file {c.settings.data_dir / 'witness' / 'audit-checkpoints.jsonl'}"]
        fill(c, clock, 20, per_transaction=5)  # the log goes on: checkpoints 21 and 31
        tsa.down = False
        done = c.witnesses.hand_over()
        assert done.failed == {} and done.handed[f"tsa {tsa.url}"] == 4
        assert sorted(p.name for p in store(c).glob("*.tsr")) == [
            f"{n:020d}.tsr" for n in (1, 11, 21, 31)
        ]
        assert tsa.authorizations[-1] == "Basic c3RhbXBlcjpodW50ZXIy"  # stamper:hunter2
    finally:
        c.close()
    r = verify(c, "--tsa-cert", str(tsa.ca))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "time-stamped: 4 checkpoints" in r.stdout


def test_a_stamp_earlier_than_the_checkpoint_beyond_the_tolerance_is_refused(
    log: Container, tsa: OpenSslTsa
) -> None:
    line, token = (p.read_bytes() for p in pair(log, 11))
    verifier = tsa_certificates(tsa.ca)
    stamped = check_token(line, token, parse_witness_line(line).signed_at, verifier)
    assert check_token(line, token, stamped + timedelta(seconds=299), verifier) == stamped
    with pytest.raises(TokenRejectedError, match="is before the checkpoint was signed"):
        check_token(line, token, stamped + timedelta(seconds=301), verifier)
    with pytest.raises(TokenRejectedError, match="stamps another message"):
        check_token(line + b" ", token, stamped, verifier)


def test_a_token_that_fails_as_it_arrives_is_not_kept(
    container: Container, clock: ManualClock, tsa: OpenSslTsa, tmp_path: Path
) -> None:
    """With CUSTOS_AUDIT_TSA_CERT naming another CA, nothing is stored and the pass fails."""
    stranger = make_ca(tmp_path / "stranger", "Someone else's CA")
    c = stamping(container, clock, tsa.url, stranger)
    try:
        assert c.witnesses is not None
        fill(c, clock, 5)
        failed = c.witnesses.hand_over().failed
        assert (
            "token for checkpoint 1 refused: its signature does not verify"
            in (failed[f"tsa {tsa.url}"])
        )
        assert not list(store(c).glob("*.tsr"))
    finally:
        c.close()


def test_the_store_is_read_in_tree_size_order(log: Container, tsa: OpenSslTsa) -> None:
    source = TimeStampFiles([store(log)], tsa_certificates(tsa.ca))
    found, refused = source.read()
    assert refused == []
    assert [w.checkpoint.tree_size for w in found] == [1, 11, 21]
    assert [s.tree_size for s in source.stamped] == [1, 11, 21]
    assert openssl()  # the binary the TSA ran on
