"""The time-stamp witness's pure parts: the TSA's URL and its secret, what a TSA that fails
leaves behind (nothing), the store's own rules, and tokens that are not tokens. The tokens
themselves are tested against OpenSSL's TSA in tests/integration/test_audit_time_stamps.py."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from custos.adapters.time_stamps import (
    MAX_TOKEN,
    TimeStampAuthority,
    TimeStampWitness,
    TokenRejectedError,
    check_token,
    tsa_certificates,
)
from custos.bootstrap import time_stamp_witness
from custos.config import Settings
from custos.domain.audit_chain import Checkpoint
from custos.domain.audit_witness import witness_line
from custos.services.audit_witness import WitnessUnavailableError

SIGNED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def checkpoint(size: int, root: bytes = b"\x01" * 32) -> Checkpoint:
    return Checkpoint(size, root, b"\x02" * 32, SIGNED, "0123456789abcdef", b"\x03" * 64)


def answering(status: int, body: bytes, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body)

    return httpx.MockTransport(handler)


def test_the_tsa_is_named_without_the_credentials_in_its_url_which_go_as_basic_auth() -> None:
    seen: list[httpx.Request] = []
    tsa = TimeStampAuthority(
        "https://stamper:s3cret@tsa.example:8443/rfc3161?x=1", answering(503, b"", seen)
    )
    assert tsa.url == "https://tsa.example:8443/rfc3161?x=1"
    assert "s3cret" not in repr(tsa)
    with pytest.raises(WitnessUnavailableError) as caught:
        tsa.stamp(b"a checkpoint line\n")
    assert (
        str(caught.value)
        == "tsa https://tsa.example:8443/rfc3161?x=1 answered HTTP 503: Service Unavailable"
    )
    assert "s3cret" not in str(caught.value)
    request = seen[0]
    assert request.headers["Authorization"] == "Basic c3RhbXBlcjpzM2NyZXQ="
    assert request.headers["Content-Type"] == "application/timestamp-query"
    assert request.url == "https://tsa.example:8443/rfc3161?x=1"


@pytest.mark.parametrize("url", ["ftp://tsa.example/", "tsa.example", "http:///path"])
def test_a_tsa_url_that_is_not_http_with_a_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="http:// or https:// URL with a host"):
        TimeStampAuthority(url)


def test_an_answer_that_is_no_token_fails_the_pass_and_nothing_is_kept(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    tsa = TimeStampAuthority("http://tsa.example/", answering(200, b"<html>hello</html>", seen))
    witness = TimeStampWitness(tsa, tmp_path / "time-stamps")
    with pytest.raises(WitnessUnavailableError, match="not a time-stamp response"):
        witness.witness(checkpoint(1))
    assert list((tmp_path / "time-stamps").iterdir()) == []
    assert witness.witnessed_size() == 0


def test_a_tsa_that_cannot_be_reached_is_a_failed_witness(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    tsa = TimeStampAuthority("http://tsa.example/", httpx.MockTransport(refuse))
    witness = TimeStampWitness(tsa, tmp_path / "time-stamps")
    with pytest.raises(WitnessUnavailableError, match=r"cannot reach tsa http://tsa\.example/"):
        witness.witness(checkpoint(1))


def test_the_store_holds_the_largest_stamped_size(tmp_path: Path) -> None:
    store = tmp_path / "time-stamps"
    witness = TimeStampWitness(TimeStampAuthority("http://tsa.example/"), store)
    assert witness.witnessed_size() == 0  # no store yet
    store.mkdir()
    for name in ("00000000000000000011.json", "00000000000000000011.tsr"):
        (store / name).write_bytes(b"x")
    (store / "00000000000000000021.json").write_bytes(b"x")  # its token never came
    assert witness.witnessed_size() == 11


def test_another_checkpoint_of_a_stamped_size_is_not_stamped_over_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[httpx.Request] = []
    store = tmp_path / "time-stamps"
    store.mkdir()
    held = witness_line(checkpoint(11))
    (store / "00000000000000000011.json").write_bytes(held)
    tsa = TimeStampAuthority("http://tsa.example/", answering(500, b"", seen))
    with caplog.at_level(logging.ERROR):
        TimeStampWitness(tsa, store).witness(checkpoint(11, root=b"\x09" * 32))
    assert seen == []  # not even asked
    assert (store / "00000000000000000011.json").read_bytes() == held
    assert "holds another checkpoint 11" in caplog.text


def test_bytes_that_are_no_token_are_refused_naming_why() -> None:
    with pytest.raises(TokenRejectedError, match="not a time-stamp response"):
        check_token(b"line\n", b"\x30\x03\x02\x01", SIGNED, None)
    with pytest.raises(TokenRejectedError, match=f"longer than {MAX_TOKEN} bytes"):
        check_token(b"line\n", b"\x00" * (MAX_TOKEN + 1), SIGNED, None)


def test_a_tsa_certificate_file_must_hold_a_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        tsa_certificates(tmp_path / "missing.pem")
    (tmp_path / "empty.pem").write_text("no certificate here\n")
    with pytest.raises(ValueError, match="holds no PEM certificate"):
        tsa_certificates(tmp_path / "empty.pem")


def test_a_tsa_url_setting_that_is_not_http_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(audit_tsa_url="ftp://stamper:s3cret@tsa.example/")
    said = [(e["loc"], e["msg"]) for e in caught.value.errors()]  # what the CLI prints
    assert said == [
        (("audit_tsa_url",), "Value error, must be an http:// or https:// URL with a host")
    ]
    assert "s3cret" not in repr(Settings(audit_tsa_url="https://stamper:s3cret@tsa.example/"))


def test_an_unusable_tsa_certificate_fails_the_pass_not_the_server(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    settings = Settings(
        data_dir=tmp_path,
        audit_tsa_url="http://tsa.example/",
        audit_tsa_cert=tmp_path / "ca.pem",
    )
    witness = time_stamp_witness(settings)  # builds: the server starts
    assert witness.directory == tmp_path / "witness" / "time-stamps"
    assert witness.name == "tsa http://tsa.example/"
    with pytest.raises(WitnessUnavailableError, match=r"CUSTOS_AUDIT_TSA_CERT: .* holds no PEM"):
        witness.witness(checkpoint(1))
    assert not (tmp_path / "witness" / "time-stamps").exists() or not list(
        (tmp_path / "witness" / "time-stamps").iterdir()
    )
