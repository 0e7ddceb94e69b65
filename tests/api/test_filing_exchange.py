"""Filing across systems (docs/design/filing.md D3): the unit's Custos exports a signed
custos-filing/1 file, a bureau's own Custos (a second system, its own keys and database)
imports it, returns then accepts, and the unit's Custos records each signed decision; a
tampered file is refused naming the member; a paper decision is recorded by hand."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from custos.entrypoints.api.app import create_app
from tests.api.builders import API, camera_body, credit_code, make_site, make_unit
from tests.api.filing_world import IN_SERVICE, login, profile_body, upload

CHONGQING = "500103"  # 重庆市渝中区
OTHER = "610113"  # 西安市雁塔区


@dataclass
class Bureau:
    client: TestClient
    container: Container
    supervisor: dict[str, str]


@pytest.fixture
def bureau(tmp_path: Path, clock: ManualClock, sqlite_template: Path) -> Iterator[Bureau]:
    """The county bureau's own Custos: another database, another signing key."""
    data = tmp_path / "bureau"
    data.mkdir()
    shutil.copyfile(sqlite_template, data / sqlite_template.name)
    container = bootstrap(Settings(data_dir=data), clock=clock)
    with TestClient(create_app(container)) as client:
        sup = login(client, container, "bureau-yuzhong", Role.SUPERVISOR, None, CHONGQING)
        yield Bureau(client, container, sup)
    container.engine.dispose()


@dataclass
class Submitted:
    unit_id: int
    site_id: int
    case_id: int
    manager: dict[str, str]


def _submitted(
    client: TestClient, container: Container, admin: dict[str, str], n: int, channel: str
) -> Submitted:
    unit = make_unit(client, admin, n, credit_code=credit_code(n, CHONGQING))
    site = make_site(client, admin, unit, CHONGQING, name=f"渝中商场 {n}")
    body = camera_body(site, CHONGQING, serial=n, history=IN_SERVICE)
    assert client.post(f"{API}/cameras", json=body, headers=admin).status_code == 201
    manager = login(client, container, f"manager-{n}", Role.UNIT_MANAGER, unit_id=unit)
    r = client.put(
        f"{API}/sites/{site}/filing-profile",
        json=profile_body(client, manager, site),
        headers=manager,
    )
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=manager)
    assert r.status_code == 201, r.text
    case = r.json()["id"]
    r = client.post(f"{API}/filing-cases/{case}/submit", json={"channel": channel}, headers=manager)
    assert r.status_code == 201, r.text
    return Submitted(unit, site, case, manager)


def _export(client: TestClient, s: Submitted) -> bytes:
    r = client.get(f"{API}/filing-cases/{s.case_id}/export.zip", headers=s.manager)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    return r.content


def _import(b: Bureau, data: bytes, headers: dict[str, str] | None = None) -> Any:
    files = {"file": ("filing.zip", data, "application/zip")}
    return b.client.post(f"{API}/filings/import", files=files, headers=headers or b.supervisor)


def _decision(b: Bureau, receipt: int, body: dict[str, Any]) -> bytes:
    r = b.client.post(f"{API}/filings/received/{receipt}/decide", json=body, headers=b.supervisor)
    assert r.status_code == 200, r.text
    r = b.client.get(f"{API}/filings/received/{receipt}/decision.zip", headers=b.supervisor)
    assert r.status_code == 200, r.text
    return r.content


def _record(client: TestClient, s: Submitted, data: bytes) -> Any:
    files = {"file": ("decision.zip", data, "application/zip")}
    return client.post(f"{API}/filing-cases/{s.case_id}/decision", files=files, headers=s.manager)


def _replace_member(data: bytes, name: str, change: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, change(body) if info.filename == name else body)
    return out.getvalue()


def _case(client: TestClient, s: Submitted) -> dict[str, Any]:
    r = client.get(f"{API}/filing-cases/{s.case_id}", headers=s.manager)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _initial_row(client: TestClient, admin: dict[str, str], s: Submitted) -> dict[str, Any]:
    rows = client.get(f"{API}/sites/{s.site_id}/filings", headers=admin).json()
    [row] = [f for f in rows if f["kind"] == "initial"]
    return row  # type: ignore[no-any-return]


def test_export_import_return_resubmit_accept_across_two_systems(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    bureau: Bureau,
    clock: ManualClock,
) -> None:
    s = _submitted(client, container, admin, 1, "export")
    data = _export(client, s)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(z.namelist()) == sorted(
            ["package.json", "package.pdf", "manifest.json", "signature", "public_key.pem"]
        )
        assert z.read("package.pdf").startswith(b"%PDF")
    case = _case(client, s)
    assert case["latest_submission"]["channel"] == "export"
    assert case["history"][-1]["action"] == "export"
    receipt_number = case["latest_submission"]["receipt_number"]
    stranger_unit = make_unit(client, admin, 50, credit_code=credit_code(50, CHONGQING))
    stranger = login(client, container, "manager-50", Role.UNIT_MANAGER, unit_id=stranger_unit)
    r = client.get(f"{API}/filing-cases/{s.case_id}/export.zip", headers=stranger)
    assert r.status_code == 404, r.text  # another unit's case is out of reach

    # a supervisor of another county may not import it; one without SUPERVISE is refused
    other = login(bureau.client, bureau.container, "bureau-yanta", Role.SUPERVISOR, None, OTHER)
    r = _import(bureau, data, other)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "package.system_profile.division_code"
    clerk = login(bureau.client, bureau.container, "clerk", Role.AUDITOR)
    assert _import(bureau, data, clerk).status_code == 403

    r = _import(bureau, data)
    assert r.status_code == 201, r.text
    received = r.json()
    assert received["state"] == "received"
    assert received["division_code"] == CHONGQING
    assert received["receipt_number"] == receipt_number
    assert received["site"]["site_name"] == "渝中商场 1"
    assert received["recipient"]["organ_name"] == "重庆市公安局渝中区分局"
    assert len(received["sender_key"]) == 64
    listed = bureau.client.get(f"{API}/filings/received", headers=bureau.supervisor).json()
    assert [f["id"] for f in listed] == [received["id"]]
    assert bureau.client.get(f"{API}/filings/received", headers=other).json() == []
    assert (
        bureau.client.get(f"{API}/filings/received/{received['id']}", headers=other).status_code
        == 404
    )
    pdf = bureau.client.get(
        f"{API}/filings/received/{received['id']}/package.pdf", headers=bureau.supervisor
    )
    assert pdf.content.startswith(b"%PDF")
    assert _import(bureau, data).status_code == 409  # the same submission once

    # the bureau returns it; the unit's system records the signed decision
    returned = _decision(
        bureau, received["id"], {"decision": "returned", "reasons": ["缺少设计方案的签章页"]}
    )
    r = _record(client, s, returned)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "returned"
    assert r.json()["return_reasons"] == ["缺少设计方案的签章页"]
    assert r.json()["history"][-1]["action"] == "record_decision"
    assert r.json()["history"][-1]["detail"]["channel"] == "export"

    # corrected and resubmitted: the old decision no longer fits the case
    r = client.post(
        f"{API}/filing-cases/{s.case_id}/submit", json={"channel": "export"}, headers=s.manager
    )
    assert r.status_code == 201, r.text
    assert _record(client, s, returned).status_code == 422
    r = _import(bureau, _export(client, s))
    assert r.status_code == 201, r.text
    accepted = _decision(bureau, r.json()["id"], {"decision": "accepted"})
    r = _record(client, s, accepted)
    assert r.status_code == 200, r.text
    done = r.json()
    today = shanghai_date(clock.now()).isoformat()
    assert done["state"] == "accepted"
    assert done["filing_number"] == f"备{CHONGQING}{today[:4]}00001"
    assert done["decided_on"] == today
    row = _initial_row(client, admin, s)
    assert row["filed_on"] == today
    assert row["receipt_number"] == done["filing_number"]
    with container.uow() as uow:
        actions = [e.action for _, e in uow.audit.find(limit=1000)]
    assert actions.count("filing.export") == 2
    assert actions.count("filing.record_decision") == 2
    with bureau.container.uow() as uow:
        actions = [e.action for _, e in uow.audit.find(limit=1000)]
    assert actions.count("filing.import") == 2
    assert "filing.decide" in actions


def test_a_tampered_file_is_refused_naming_the_member(
    client: TestClient, container: Container, admin: dict[str, str], bureau: Bureau
) -> None:
    s = _submitted(client, container, admin, 2, "export")
    data = _export(client, s)
    cases = {
        "package.json": lambda b: b.replace("渝中商场".encode(), "某某商场".encode()),
        "package.pdf": lambda b: b + b"%",
        "manifest.json": lambda b: b.replace(b'"format"', b'"format" ', 1),
        "signature": lambda b: bytes([b[0] ^ 1]) + b[1:],
    }
    expected = {
        "package.json": "file.package.json",
        "package.pdf": "file.package.pdf",
        "manifest.json": "file.signature",  # the manifest still parses: its signature fails
        "signature": "file.signature",
    }
    for member, change in cases.items():
        r = _import(bureau, _replace_member(data, member, change))
        assert r.status_code == 422, (member, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [expected[member]], member
        if member == "package.json":  # said in the caller's language (zh-CN by default)
            [error] = r.json()["errors"]
            assert error["key"] == "refusal.filing_file_tampered"
            assert "package.json" in error["text"]
            assert "改动" in error["text"], error["text"]
    r = _import(bureau, b"not a zip")
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file.file"
    assert bureau.client.get(f"{API}/filings/received", headers=bureau.supervisor).json() == []


def test_a_paper_decision_is_recorded_by_hand(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    s = _submitted(client, container, admin, 3, "paper")
    today = shanghai_date(clock.now())
    url = f"{API}/filing-cases/{s.case_id}/decision"
    r = client.post(
        url, json={"decision": "returned", "decided_on": today.isoformat()}, headers=s.manager
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "reasons"
    future = {"decision": "accepted", "decided_on": "2099-01-01", "filing_number": "渝公备 1"}
    assert client.post(url, json=future, headers=s.manager).status_code == 422
    scan = upload(client, s.manager, s.site_id, "receipt-scan.pdf")["sha256"]
    body = {
        "decision": "accepted",
        "decided_on": today.isoformat(),
        "filing_number": "渝公(渝中)备字〔2026〕第0042号",
        "document_sha256": scan,
    }
    r = client.post(url, json=body, headers=s.manager)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted"
    assert r.json()["filing_number"] == body["filing_number"]
    detail = r.json()["history"][-1]["detail"]
    assert detail["channel"] == "paper"
    assert detail["document_sha256"] == scan
    row = _initial_row(client, admin, s)
    assert row["filed_on"] == today.isoformat()
    # an operator (no filing.write) may not record one
    operator = login(client, container, "operator-3", Role.OPERATOR, unit_id=s.unit_id)
    assert client.post(url, json=body, headers=operator).status_code == 403
