"""Dates and instants of the operating records (§4: duty, rooms, staff, maintenance, emergency)
are bounded to the years 2000–2099: outside them a 422 naming the field, where 0001-01-01 or
9999-12-31 used to overflow the date arithmetic behind them (a 500), and the compliance report,
which reads them, stays a 200."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from tests.api.builders import API, make_site, make_unit
from tests.api.conftest import LoginAs

XIAN = "610113"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the bounds are the API's; the databases never see these dates


def _refused(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert any(e["field"].split(".")[-1] == field for e in r.json()["errors"]), r.text


def test_dates_out_of_range_are_refused_naming_the_field(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, XIAN)
    boss = login_as(Role.UNIT_MANAGER, unit)
    today = shanghai_date(container.clock.now()).isoformat()

    url = f"{API}/sites/{site}/inspection-schedules"
    for day in ("0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"):
        _refused(client.post(url, json={"interval_days": 30, "starts_on": day}, headers=boss),
                 "starts_on")  # fmt: skip
    r = client.post(url, json={"interval_days": 30, "starts_on": today}, headers=boss)
    assert r.status_code == 201, r.text

    r = client.post(f"{API}/monitoring-rooms", headers=boss,
                    json={"site_id": site, "name": "一号监控室", "authorised": ["王工程师"]})  # fmt: skip
    assert r.status_code == 201, r.text
    room = r.json()["id"]
    entries = f"{API}/monitoring-rooms/{room}/entries"
    for at in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59+00:00"):
        body = {"person_name": "王工程师", "reason": "检修", "entered_at": at}
        _refused(client.post(entries, json=body, headers=boss), "entered_at")
    rota = f"{API}/monitoring-rooms/{room}/rota?from=0001-01-01&to={today}"
    _refused(client.get(rota, headers=boss), "from")

    staff = {"name": "张三", "role": "monitoring", "id_number": "11010519491231002X",
             "hired_on": "0001-01-01"}  # fmt: skip
    _refused(client.post(f"{API}/units/{unit}/staff", json=staff, headers=boss), "hired_on")

    r = client.get(f"{API}/compliance/sites/{site}", headers=admin)
    assert r.status_code == 200, r.text
