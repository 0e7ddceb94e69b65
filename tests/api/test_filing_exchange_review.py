"""Filing review findings 1.1, 2.3, 3.1 and 3.2 (docs/design/filing.md D3): a unit records no
decision on a case it sent to the bureau in this system; one filing numbering across in-system
cases and filings received from other systems; a malformed signed file is refused naming the
member (never a 500); a received receipt number is plain ASCII."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.filing_exchange import (
    DECISION_FORMAT,
    FILING_FORMAT,
    canonical,
    manifest_of,
    pack,
    sha256,
)
from tests.api.builders import API
from tests.api.filing_world import login
from tests.api.test_filing_exchange import (
    CHONGQING,
    Submitted,
    _case,
    _export,
    _initial_row,
    _submitted,
)

Change = Callable[[dict[str, Any]], Any]


def _same(d: dict[str, Any]) -> Any:
    return d


def _set(path: str, value: Any) -> Change:
    """A change setting ``a.b`` of a JSON object to ``value``."""

    def change(d: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        node = d
        for p in parents:
            node = node[p]
        node[last] = value
        return d

    return change


def _signed(fmt: str, members: dict[str, bytes], about: dict[str, Any], **over: Any) -> bytes:
    """A file signed with a fresh Ed25519 key (a reader checks the key the file carries);
    ``files`` and ``pem`` replace the manifest's member list and the public key."""
    manifest = manifest_of(fmt, members, about)
    if "files" in over:
        manifest = canonical({**json.loads(manifest), "files": over["files"]})
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return pack(members, manifest, key.sign(manifest), over.get("pem", pem))


def _forge(data: bytes, about: Change = _same, package: Change = _same, **over: Any) -> bytes:
    """An exported custos-filing/1 file re-signed with ``about`` (the manifest's) and
    ``package`` changed; the submission names the changed package's hash."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read("manifest.json"))
        body = canonical(package(json.loads(z.read("package.json"))))
        pdf = z.read("package.pdf")
    manifest["submission"]["package_sha256"] = sha256(body)
    rest = about({k: v for k, v in manifest.items() if k not in ("format", "files")})
    return _signed(FILING_FORMAT, {"package.json": body, "package.pdf": pdf}, rest, **over)


def _import(client: TestClient, headers: dict[str, str], data: bytes) -> Any:
    files = {"file": ("filing.zip", data, "application/zip")}
    return client.post(f"{API}/filings/import", files=files, headers=headers)


def _record_file(client: TestClient, s: Submitted, data: bytes) -> Any:
    files = {"file": ("decision.zip", data, "application/zip")}
    return client.post(f"{API}/filing-cases/{s.case_id}/decision", files=files, headers=s.manager)


def _refused(r: Any, field: str, key: str | None = None) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == field, error
    if key is not None:
        assert error["key"] == key, error
    return error  # type: ignore[no-any-return]


def _recorded(container: Container) -> int:
    with container.uow() as uow:
        return sum(e.action == "filing.record_decision" for _, e in uow.audit.find(limit=10000))


def test_a_unit_records_no_decision_on_a_case_submitted_to_the_bureau_in_this_system(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    s = _submitted(client, container, admin, 21, "internal")
    before, logged = _case(client, s), _recorded(container)
    today = shanghai_date(clock.now()).isoformat()
    url = f"{API}/filing-cases/{s.case_id}/decision"
    accepted = {"decision": "accepted", "decided_on": today, "filing_number": "渝公备 21"}
    returned = {"decision": "returned", "decided_on": today, "reasons": ["缺少签章"]}
    for body in (accepted, returned):
        for who in (s.manager, admin):
            r = client.post(url, json=body, headers=who)
            _refused(r, "decision", "refusal.filing_decided_in_system")
    # nor by way of an export: the internal submission stays the bureau's to decide
    exported = client.get(f"{API}/filing-cases/{s.case_id}/export.zip", headers=s.manager)
    _refused(exported, "channel", "refusal.filing_export_internal")
    assert _case(client, s) == before
    assert _case(client, s)["state"] == "submitted"
    assert _initial_row(client, admin, s)["filed_on"] is None
    assert _recorded(container) == logged


def test_a_filing_number_never_repeats_across_in_system_and_received_filings(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    year = shanghai_date(clock.now()).year
    sup = login(client, container, "county-22", Role.SUPERVISOR, None, CHONGQING)

    def number(seq: int) -> str:
        return f"备{CHONGQING}{year}{seq:05d}"

    def decide(receipt: int, body: dict[str, Any]) -> Any:
        return client.post(f"{API}/filings/received/{receipt}/decide", json=body, headers=sup)

    def accept(s: Submitted, body: dict[str, Any]) -> Any:
        return client.post(f"{API}/filing-cases/{s.case_id}/accept", json=body, headers=sup)

    # a filing received from another system (here: this system's own export) takes 00001
    a = _submitted(client, container, admin, 22, "export")
    r = _import(client, sup, _export(client, a))
    assert r.status_code == 201, r.text
    r = decide(r.json()["id"], {"decision": "accepted"})
    assert r.status_code == 200, r.text
    assert r.json()["filing_number"] == number(1)

    # an in-system acceptance generates the first free number, not a second 00001
    b = _submitted(client, container, admin, 23, "internal")
    r = accept(b, {})
    assert r.status_code == 200, r.text
    assert r.json()["filing_number"] == number(2)

    # a typed number already used is refused, and the case stays submitted
    c = _submitted(client, container, admin, 24, "internal")
    for used in (number(1), number(2)):
        _refused(accept(c, {"filing_number": used}), "filing_number", "refusal.filing_number_taken")
    assert _case(client, c)["state"] == "submitted"
    typed = "渝公(渝中)备字〔2026〕第0042号"
    r = accept(c, {"filing_number": typed})
    assert r.status_code == 200, r.text

    # the bureau's decision on a received filing: typed numbers used anywhere refused
    d = _submitted(client, container, admin, 25, "export")
    r = _import(client, sup, _export(client, d))
    assert r.status_code == 201, r.text
    received = r.json()["id"]
    for used in (typed, number(2)):
        r = decide(received, {"decision": "accepted", "filing_number": used})
        _refused(r, "filing_number", "refusal.filing_number_taken")
    r = client.get(f"{API}/filings/received/{received}", headers=sup)
    assert r.json()["state"] == "received"
    r = decide(received, {"decision": "accepted"})
    assert r.status_code == 200, r.text
    assert r.json()["filing_number"] == number(3)

    # a paper decision typed by the unit: the same numbering
    e = _submitted(client, container, admin, 26, "paper")
    today = shanghai_date(clock.now()).isoformat()
    body = {"decision": "accepted", "decided_on": today, "filing_number": number(3)}
    r = client.post(f"{API}/filing-cases/{e.case_id}/decision", json=body, headers=e.manager)
    _refused(r, "filing_number", "refusal.filing_number_taken")
    assert _case(client, e)["state"] == "submitted"

    # a signed decision file answers an exported submission only (the paper case refuses it)
    r = client.get(f"{API}/filings/received/{received}/decision.zip", headers=sup)
    assert r.status_code == 200, r.text
    _refused(_record_file(client, e, r.content), "decision", "refusal.filing_decision_channel")
    assert _case(client, e)["state"] == "submitted"


def _unknown_algorithm_pem() -> bytes:
    """A SubjectPublicKeyInfo whose algorithm (OID 1.2.3.4) no library knows."""
    oid = bytes([0x06, 0x03, 0x2A, 0x03, 0x04])
    algorithm = bytes([0x30, len(oid)]) + oid
    body = algorithm + bytes([0x03, 0x05, 0x00, 1, 2, 3, 4])
    spki = bytes([0x30, len(body)]) + body
    return (
        b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(spki) + b"-----END PUBLIC KEY-----\n"
    )


def test_each_malformed_signed_file_is_refused_naming_the_member(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    sup = login(client, container, "county-27", Role.SUPERVISOR, None, CHONGQING)
    s = _submitted(client, container, admin, 27, "export")
    data = _export(client, s)
    manifest, package = "file.manifest.json", "file.package.json"
    filings: list[tuple[str, bytes, str]] = [
        ("submission a text", _forge(data, _set("submission", "x")), manifest),
        ("case a list", _forge(data, _set("case", [1])), manifest),
        ("case.recipient a text", _forge(data, _set("case.recipient", "重庆")), manifest),
        ("case.kind unknown", _forge(data, _set("case.kind", "merger")), manifest),
        ("case.due a number", _forge(data, _set("case.due", 5)), manifest),
        ("system_profile a text", _forge(data, package=_set("system_profile", "x")), package),
        ("units a number", _forge(data, package=_set("units", 5)), package),
        ("units.user a text", _forge(data, package=_set("units.user", "x")), package),
        ("files a number", _forge(data, files=5), manifest),
        ("a file named by a list", _forge(data, files=[{"name": ["package.json"]}]), manifest),
        ("an unknown key algorithm", _forge(data, pem=_unknown_algorithm_pem()), "file.signature"),
        ("a key that is no PEM", _forge(data, pem=b"not a key"), "file.signature"),
    ]
    for what, forged, field in filings:
        error = _refused(_import(client, sup, forged), field)
        assert error["text"], what
    assert client.get(f"{API}/filings/received", headers=sup).json() == []

    # the unit's side: a decision file of each malformed shape
    before = _case(client, s)
    latest = before["latest_submission"]
    decision = {
        "receipt_number": latest["receipt_number"],
        "package_sha256": latest["package_sha256"],
        "decision": "returned",
        "decided_on": latest["submitted_on"],
        "reasons": ["缺少签章"],
        "filing_number": "",
        "organ": {},
    }
    about = {"system": {"name": "Custos"}}
    bad: list[tuple[str, Any]] = [
        ("reasons a number", _set("reasons", 5)(dict(decision))),
        ("reasons a text", _set("reasons", "缺少签章")(dict(decision))),
        ("a reason a number", _set("reasons", [1])(dict(decision))),
        ("filing_number an object", _set("filing_number", {})(dict(decision))),
        ("organ a text", _set("organ", "x")(dict(decision))),
        ("decision.json a list", [decision]),
    ]
    for what, body in bad:
        forged = _signed(DECISION_FORMAT, {"decision.json": canonical(body)}, about)
        error = _refused(_record_file(client, s, forged), "file.decision.json")
        assert error["text"], what
    good = {"decision.json": canonical(decision)}
    forged = _signed(DECISION_FORMAT, good, about, files=3)
    _refused(_record_file(client, s, forged), manifest)
    assert _case(client, s) == before
    # the control: the same file well formed is recorded
    r = _record_file(client, s, _signed(DECISION_FORMAT, good, about))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "returned"


def test_a_receipt_number_beyond_plain_ascii_is_refused_at_import(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    sup = login(client, container, "county-28", Role.SUPERVISOR, None, CHONGQING)
    s = _submitted(client, container, admin, 28, "export")
    data = _export(client, s)
    for receipt in ("渝中-20260101-001", "500103-1\r\nSet-Cookie: x", "A\nB", "", "9" * 65, 42):
        forged = _forge(data, _set("submission.receipt_number", receipt))
        error = _refused(
            _import(client, sup, forged), "file.manifest.json", "refusal.filing_receipt_number"
        )
        assert "manifest.json" in error["text"], error
    assert client.get(f"{API}/filings/received", headers=sup).json() == []
    # the control: the same file with a plain receipt number is received, and downloads
    r = _import(client, sup, _forge(data, _set("submission.receipt_number", "500103-X-9")))
    assert r.status_code == 201, r.text
    r = client.get(f"{API}/filings/received/{r.json()['id']}/package.pdf", headers=sup)
    assert r.status_code == 200, r.text
    assert 'filename="filing-500103-X-9.pdf"' in r.headers["content-disposition"]
