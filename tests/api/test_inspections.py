"""Inspections, checklists from the packs, rectification notices to closure (docs/design/filing.md
D6), through the API on SQLite and PostgreSQL: plan → checklist with articles (Xi'an, Liaoning)
→ record a failure with a photo → every inspector signs → report PDF (its hash in the log) →
notices for the unit → answer with evidence → reject, answer again, close; the overdue path with
the pack's fine range and an escalation inside it; isolation between units and counties."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from pypdf import PdfReader

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.audit import Outcome
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.users import SYSTEM, UserProfile
from tests.api.builders import API, PASSWORD, make_site, make_unit
from tests.api.conftest import LoginAs

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
XIAN, LIAONING = "610113", "210102"


def _supervisor(
    client: TestClient, container: Container, name: str, jurisdiction: str
) -> tuple[int, dict[str, str]]:
    user = container.auth.create_user(
        SYSTEM, name, Role.SUPERVISOR, PASSWORD, None, UserProfile(f"{name} 警官", jurisdiction)
    )
    return user.id or 0, _login(client, name)


def _login(client: TestClient, name: str) -> dict[str, str]:
    r = client.post(f"{API}/auth/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _plan(client: TestClient, who: dict[str, str], unit: int, inspectors: list[int]) -> Any:
    body = {"unit_id": unit, "planned_on": "2026-11-25", "inspector_ids": inspectors}
    return client.post(f"{API}/inspections", json=body, headers=who)


def _record_all(
    client: TestClient, who: dict[str, str], inspection: dict[str, Any], special: dict[str, Any]
) -> None:
    for item in inspection["items"]:
        body = special.get(item["key"], {"result": "pass"})
        r = client.put(
            f"{API}/inspections/{inspection['id']}/items/{item['key']}", json=body, headers=who
        )
        assert r.status_code == 200, r.text


def _log(container: Container, action: str) -> list[dict[str, Any]]:
    with container.uow() as uow:
        entries = uow.audit.find(limit=10_000)
    return [e.detail for _, e in entries if e.action == action and e.outcome is Outcome.OK]


def test_inspection_to_closure_and_the_overdue_path(
    client: TestClient, container: Container, clock: ManualClock, admin: dict[str, str],
    login_as: LoginAs,
) -> None:  # fmt: skip
    unit_a = make_unit(client, admin, 1, name="西安甲单位")
    make_site(client, admin, unit_a, XIAN, name="甲商场")
    unit_b = make_unit(client, admin, 2, name="沈阳乙单位")
    make_site(client, admin, unit_b, LIAONING, name="乙医院", categories=["hospital"])
    s1, lead = _supervisor(client, container, "xian-lead", "610100")
    s2, second = _supervisor(client, container, "xian-second", "610113")
    ln, liaoning = _supervisor(client, container, "liaoning-sup", "210000")
    _, other_county = _supervisor(client, container, "weiyang-sup", "610112")
    manager_a = login_as(Role.UNIT_MANAGER, unit_a)
    manager_b = login_as(Role.UNIT_MANAGER, unit_b)

    # plan: inspectors must be supervisors whose jurisdiction covers the sites
    refused = _plan(client, lead, unit_a, [s1, ln])
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "inspector_ids[1]"
    assert _plan(client, other_county, unit_a, [s1]).status_code == 404
    assert _plan(client, manager_a, unit_a, [s1]).status_code == 403
    r = _plan(client, lead, unit_a, [s1, s2])
    assert r.status_code == 201, r.text
    inspection = r.json()
    items = {i["key"]: i for i in inspection["items"]}
    assert inspection["state"] == "planned" and inspection["division_codes"] == [XIAN]
    assert "xian-2020:art13" in items["signage"]["rule_ids"]
    assert items["signage"]["penalty"]["rule_id"] == "shaanxi-2011:art23"
    assert items["operating.staff_archive"]["penalty"] is None  # errata 1: no fine
    assert items["retention.days"]["text_zh"] == "视频图像信息留存不少于30日"

    # the Liaoning unit's checklist cites Liaoning's articles
    r = _plan(client, liaoning, unit_b, [ln])
    assert r.status_code == 201, r.text
    ln_items = {i["key"]: i for i in r.json()["items"]}
    assert ln_items["operating.duty_monitoring"]["rule_ids"] == ["liaoning-2008:art14.i3"]
    assert ln_items["operating.duty_monitoring"]["penalty"]["fine"]["unit_max"] == 500
    assert "acceptance.before_use" not in ln_items and "acceptance.before_use" in items

    iid = inspection["id"]
    bad = client.put(
        f"{API}/inspections/{iid}/items/signage",
        json={"result": "fail", "due_days": 181},
        headers=lead,
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "due_days"
    _record_all(
        client, lead, inspection,
        {
            "operating.duty_monitoring": {"result": "fail", "remark": "无值班记录", "due_days": 10},
            "signage": {"result": "fail", "remark": "入口无提示标识"},
            "operating.training": {"result": "note", "remark": "培训记录待补充"},
        },
    )  # fmt: skip

    # a photo of the failure: an image only, stored by its hash
    files = {"file": ("entrance.png", PNG, "image/png")}
    r = client.post(
        f"{API}/inspections/{iid}/photos", data={"key": "signage"}, files=files, headers=lead
    )
    assert r.status_code == 201, r.text
    photo = r.json()["sha256"]
    assert photo == hashlib.sha256(PNG).hexdigest()
    r = client.get(f"{API}/inspections/{iid}/photos/{photo}", headers=second)
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"
    assert (
        client.get(f"{API}/inspections/{iid}/photos/{photo}", headers=other_county).status_code
        == 404
    )
    assert client.get(f"{API}/inspections/{iid}/photos/{'0' * 64}", headers=lead).status_code == 404
    text = {"file": ("note.txt", b"hello", "text/plain")}
    r = client.post(
        f"{API}/inspections/{iid}/photos", data={"key": "signage"}, files=text, headers=lead
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"

    # the report exists only once everyone signed; the record is frozen at the first signature
    assert client.get(f"{API}/inspections/{iid}/report.pdf", headers=lead).status_code == 422
    assert client.post(f"{API}/inspections/{iid}/sign", headers=liaoning).status_code == 404
    r = client.post(f"{API}/inspections/{iid}/sign", headers=lead)
    assert r.status_code == 200 and r.json()["state"] == "signing", r.text
    again = client.put(
        f"{API}/inspections/{iid}/items/signage", json={"result": "pass"}, headers=lead
    )
    assert again.status_code == 422
    clock.advance(timedelta(minutes=5))
    signed_at = clock.now().astimezone(ZoneInfo("Asia/Shanghai"))
    r = client.post(f"{API}/inspections/{iid}/sign", headers=second)
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["state"] == "closed" and all(p["signed_at"] for p in closed["inspectors"])

    report = client.get(f"{API}/inspections/{iid}/report.pdf", headers=second)
    assert report.status_code == 200 and report.content.startswith(b"%PDF-")
    digest = hashlib.sha256(report.content).hexdigest()
    assert digest == closed["report_sha256"] == report.headers["X-Content-SHA256"]
    pages = PdfReader(io.BytesIO(report.content)).pages
    printed = "".join(page.extract_text() for page in pages).replace("\n", "")
    assert "监督检查记录" in printed and "西安甲单位" in printed and "不合格" in printed
    assert photo in printed and "无值班记录" in printed and "shaanxi-2011:art23" in printed
    assert (
        "xian-lead" in printed
        and "xian-second" in printed
        and f"{signed_at:%Y-%m-%d %H:%M:%S}" in printed
    )
    [logged] = [d for d in _log(container, "inspection.close") if d["report_sha256"] == digest]
    assert set(logged["signatures"]) == {"xian-lead", "xian-second"}
    assert len(_log(container, "inspection.sign")) == 2
    assert len(_log(container, "inspection.photo")) == 1

    # the notices: the unit sees its own; other units and counties see none
    notices = client.get(f"{API}/rectifications", headers=manager_a).json()
    assert sorted(n["item_key"] for n in notices) == ["operating.duty_monitoring", "signage"]
    by_key = {n["item_key"]: n for n in notices}
    today = shanghai_date(clock.now())
    duty, signage = by_key["operating.duty_monitoring"], by_key["signage"]
    assert duty["due_on"] == (today + timedelta(days=10)).isoformat()
    assert signage["due_on"] == (today + timedelta(days=30)).isoformat()
    assert signage["penalty"]["rule_id"] == "shaanxi-2011:art23" and not signage["overdue"]
    assert signage["unit_name"] == "西安甲单位" and signage["remark"] == "入口无提示标识"
    assert client.get(f"{API}/rectifications", headers=manager_b).json() == []
    assert client.get(f"{API}/rectifications", headers=other_county).json() == []
    assert client.get(f"{API}/rectifications/{duty['id']}", headers=manager_b).status_code == 404
    assert client.get(f"{API}/rectifications/{duty['id']}", headers=other_county).status_code == 404
    assert client.get(f"{API}/inspections/{iid}", headers=other_county).status_code == 404
    assert client.get(f"{API}/inspections", headers=other_county).json() == []
    assert {i["id"] for i in client.get(f"{API}/inspections", headers=lead).json()} == {iid}

    # answer with evidence → reject (a reason is required) → answer again → close
    evidence = [("files", ("duty-log.pdf", b"%PDF-1.4 duty log", "application/pdf"))]
    path = f"{API}/rectifications/{duty['id']}"
    r = client.post(
        f"{path}/respond", data={"text": "已建立值班制度"}, files=evidence, headers=manager_a
    )
    assert r.status_code == 200, r.text
    answered = r.json()
    assert answered["state"] == "responded"
    assert (
        answered["responses"][0]["documents"][0]["sha256"]
        == hashlib.sha256(b"%PDF-1.4 duty log").hexdigest()
    )
    assert client.post(f"{path}/respond", data={"text": "x"}, headers=manager_b).status_code == 404
    doc = answered["responses"][0]["documents"][0]["sha256"]
    for who in (manager_a, lead):
        r = client.get(f"{path}/documents/{doc}", headers=who)
        assert r.status_code == 200 and r.content == b"%PDF-1.4 duty log"
    assert client.get(f"{path}/documents/{doc}", headers=manager_b).status_code == 404
    assert client.get(f"{path}/documents/{doc}", headers=other_county).status_code == 404
    assert (
        client.post(f"{path}/verify", json={"outcome": "close"}, headers=manager_a).status_code
        == 403
    )
    no_reason = client.post(f"{path}/verify", json={"outcome": "reject"}, headers=lead)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    r = client.post(
        f"{path}/verify", json={"outcome": "reject", "reason": "缺排班表"}, headers=lead
    )
    assert r.status_code == 200 and r.json()["state"] == "open", r.text
    r = client.post(f"{path}/respond", data={"text": "补充排班表"}, headers=manager_a)
    assert r.status_code == 200 and r.json()["state"] == "responded", r.text
    assert (
        client.post(f"{path}/verify", json={"outcome": "close"}, headers=other_county).status_code
        == 404
    )
    r = client.post(f"{path}/verify", json={"outcome": "close"}, headers=lead)
    assert r.status_code == 200 and r.json()["state"] == "closed", r.text
    assert [h["outcome"] for h in r.json()["history"]] == ["reject", "close"]
    assert len(_log(container, "rectification.respond")) == 2

    # overdue: past the signage notice's due date (Shanghai), not closed
    assert client.get(f"{API}/rectifications/overdue", headers=lead).json() == []
    clock.advance(timedelta(days=31))
    lead, manager_a, manager_b = (
        _login(client, "xian-lead"),
        login_as(Role.UNIT_MANAGER, unit_a),
        login_as(Role.UNIT_MANAGER, unit_b),
    )  # fmt: skip (the sessions expired in the month)
    [finding] = client.get(f"{API}/rectifications/overdue", headers=lead).json()
    assert finding["code"] == "rectification.overdue" and finding["severity"] == "critical"
    assert finding["penalty_rule_id"] == "shaanxi-2011:art23"
    assert (finding["fine"]["unit_min"], finding["fine"]["unit_max"]) == (500, 1000)
    assert "xian-2020:art13" in finding["rule_ids"] and "已逾期 1 日" in finding["text"]
    assert client.get(f"{API}/rectifications/overdue", headers=manager_b).json() == []
    mine = client.get(f"{API}/rectifications/{signage['id']}", headers=manager_a).json()
    assert mine["overdue"] is True

    # escalation: the amount must lie in the pack's range for the subject
    spath = f"{API}/rectifications/{signage['id']}/verify"
    high = {"outcome": "escalate", "penalty": {"amount": 2000}}
    r = client.post(spath, json=high, headers=lead)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "penalty.amount" and error["rule_id"] == "shaanxi-2011:art23"
    assert "500" in error["reason"] and "1000" in error["reason"]
    assert error["key"] == "refusal.rectification_fine_range" and "500–1000 元" in error["text"]
    person = {"outcome": "escalate", "penalty": {"amount": 100, "subject": "person"}}
    assert client.post(spath, json=person, headers=lead).status_code == 422  # no such range
    ok = {"outcome": "escalate", "penalty": {"amount": 800}}
    r = client.post(spath, json=ok, headers=lead)
    assert r.status_code == 200, r.text
    escalated = r.json()
    assert escalated["state"] == "escalated"
    assert escalated["escalation"]["rule_id"] == "shaanxi-2011:art23"
    assert escalated["escalation"]["amount"] == 800
    [logged] = _log(container, "rectification.escalate")
    assert logged["penalty"]["amount"] == 800
