"""Network interruptions (Xi'an art. 26): cause, start, end, carrier; works may not interrupt the
network for more than 3 days (¶2); a fault is restored with priority and has no number (¶1)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import SHANGHAI, shanghai_date
from custos.domain.clock import ManualClock
from tests.api.builders import API, make_site, make_unit
from tests.api.conftest import LoginAs

XIAN = "610113"
ART26 = "xian-2020:art26.p2"


def _at(container: Container, hours: float) -> str:
    return (container.clock.now() + timedelta(hours=hours)).isoformat()


def _record(client: TestClient, admin: dict[str, str], site: int, **body: Any) -> Any:
    data = {"cause": "municipal_works", "carrier": "中国电信西安分公司"} | body
    return client.post(f"{API}/sites/{site}/network-interruptions", json=data, headers=admin)


def _findings(client: TestClient, admin: dict[str, str], site: int) -> list[dict[str, Any]]:
    report = client.get(f"{API}/compliance/sites/{site}", headers=admin).json()
    return [f for f in report["findings"] if f["code"].startswith("network.interruption")]


def test_works_longer_than_three_days_in_xian_are_a_finding_citing_art26(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    site = make_site(client, admin, make_unit(client, admin), XIAN)
    # 100 h: past the end of the third day after the start, whatever the hour it started
    r = _record(client, admin, site, started_at=_at(container, -120), ended_at=_at(container, -20))
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["limited"] is True and got["limit_days"] == 3 and got["over_limit"] is True
    assert got["rule_ids"] == [ART26]
    started = datetime.fromisoformat(got["started_at"])
    # Civil Code arts. 201, 203: counted from the next day, ending at 24:00 of the third
    third_day_ends = datetime.combine(
        shanghai_date(started) + timedelta(days=4), time(0), tzinfo=SHANGHAI
    )
    assert datetime.fromisoformat(got["restore_by"]) == third_day_ends
    [finding] = _findings(client, admin, site)
    assert finding["code"] == "network.interruption.ended_over_limit"
    assert finding["rule_ids"] == [ART26]
    ok = _record(client, admin, site, started_at=_at(container, -10), ended_at=_at(container, -8))
    assert ok.json()["over_limit"] is False
    assert len(_findings(client, admin, site)) == 1


def test_an_ongoing_interruption_runs_over_when_three_days_pass_and_can_be_ended(
    client: TestClient, admin: dict[str, str], container: Container, login_as: LoginAs
) -> None:
    site = make_site(client, admin, make_unit(client, admin), XIAN)
    r = _record(client, admin, site, started_at=_at(container, -48), cause="other_works")
    assert r.status_code == 201 and r.json()["over_limit"] is False
    assert r.json()["ended_at"] is None and _findings(client, admin, site) == []
    clock = container.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=49))  # 97 h: past the third day whatever the starting hour
    admin = login_as(Role.ADMIN)  # the first token has expired meanwhile
    [listed] = client.get(f"{API}/sites/{site}/network-interruptions", headers=admin).json()
    assert listed["over_limit"] is True
    assert [f["code"] for f in _findings(client, admin, site)] == [
        "network.interruption.ongoing_over_limit"
    ]
    end = {"ended_at": _at(container, -1)}
    done = client.post(f"{API}/network-interruptions/{r.json()['id']}/end", json=end, headers=admin)
    assert done.status_code == 200 and done.json()["ended_at"]
    again = client.post(
        f"{API}/network-interruptions/{r.json()['id']}/end", json=end, headers=admin
    )
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "ended_at"


def test_a_fault_and_places_without_the_limit_are_not_limited(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    unit = make_unit(client, admin)
    xian = make_site(client, admin, unit, XIAN)
    beijing = make_site(client, admin, unit, "110105")
    long = {"started_at": _at(container, -200), "ended_at": _at(container, -1)}
    fault = _record(client, admin, xian, cause="network_fault", **long).json()
    assert fault["limited"] is False and fault["over_limit"] is False
    works = _record(client, admin, beijing, **long).json()
    assert works["limited"] is False and works["limit_days"] is None
    assert _findings(client, admin, xian) == [] and _findings(client, admin, beijing) == []


def test_bad_interruptions_are_refused_naming_the_field(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    site = make_site(client, admin, make_unit(client, admin), XIAN)
    r = _record(client, admin, site, started_at=_at(container, -5), ended_at=_at(container, -6))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ended_at"
    r = _record(client, admin, site, started_at=_at(container, 1))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "started_at"
    r = _record(client, admin, site, started_at=_at(container, -5), cause="weather")
    assert r.status_code == 422
    r = _record(client, admin, site, started_at=_at(container, -5), carrier="")
    assert r.status_code == 422
    r = _record(client, admin, 999_999, started_at=_at(container, -5))
    assert r.status_code == 404
    assert client.get(f"{API}/sites/{site}/network-interruptions", headers=admin).json() == []
