"""Keyset paging of the operation log and the register: pages walk newest first without gaps or
repeats even while entries keep arriving, and filters narrow them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from custos.domain.access import Role
from tests.api.access_world import XIAN, World
from tests.api.builders import API, make_unit


def _walk_log(client: TestClient, admin: dict[str, str], query: str, limit: int) -> list[int]:
    seqs: list[int] = []
    before = ""
    while True:
        r = client.get(f"{API}/audit/search?limit={limit}{query}{before}", headers=admin)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["entries"]) <= limit
        seqs += [e["seq"] for e in page["entries"]]
        if page["next_before_seq"] is None:
            return seqs
        assert page["next_before_seq"] == seqs[-1]
        before = f"&before_seq={page['next_before_seq']}"


def test_the_log_pages_newest_first_without_gaps_or_repeats(
    client: TestClient, admin: dict[str, str]
) -> None:
    for n in range(1, 8):
        make_unit(client, admin, n, name=f"单位{n}号")
    every = _walk_log(client, admin, "", 200)
    assert every == sorted(every, reverse=True) and len(every) >= 8
    first = client.get(f"{API}/audit/search?limit=3", headers=admin).json()
    make_unit(client, admin, 9)  # arrives while the reader is on page one
    rest = _walk_log(client, admin, f"&before_seq={first['next_before_seq']}", 3)
    assert [e["seq"] for e in first["entries"]] + rest == every[:3] + every[3:]


def test_the_log_filters_by_action_actor_and_text(
    client: TestClient, admin: dict[str, str]
) -> None:
    for n in range(1, 4):
        make_unit(client, admin, n, name=f"单位{n}号")
    units = client.get(f"{API}/audit/search?action=unit.&limit=200", headers=admin).json()
    assert len(units["entries"]) == 3
    assert {e["entry"]["action"] for e in units["entries"]} == {"unit.create"}
    exact = client.get(f"{API}/audit/search?action=unit.create&actor=admin", headers=admin)
    assert len(exact.json()["entries"]) == 3
    nobody = client.get(f"{API}/audit/search?action=unit.create&actor=adm", headers=admin)
    assert nobody.json()["entries"] == []
    text = client.get(f"{API}/audit/search", params={"q": "单位2号"}, headers=admin).json()
    assert [e["entry"]["action"] for e in text["entries"]] == ["unit.create"]
    wild = client.get(f"{API}/audit/search", params={"q": "%"}, headers=admin).json()
    assert wild["entries"] == []  # a wildcard is a character, not a pattern
    assert client.get(f"{API}/audit/search?limit=201", headers=admin).status_code == 422


def _walk_register(w: World, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        r = w.client.get(f"{API}/register/page", params=params, headers=w.admin)
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["entries"]
        if page["next_before_id"] is None:
            return out
        params = {"limit": limit, "before_at": page["next_before_at"],
                  "before_id": page["next_before_id"]}  # fmt: skip


def test_the_register_pages_by_keyset_with_its_filters(world: World) -> None:
    w = world
    duty = w.person("duty-pages", Role.OPERATOR, unit_id=w.unit_id)
    for i in range(5):
        body = {"camera_ids": [w.cameras[XIAN]], **w.range(0, 25), "purpose": f"核查 {i}"}
        assert w.client.post(f"{API}/playback/sessions", json=body, headers=duty).status_code == 201
    full = w.client.get(f"{API}/register", headers=w.admin).json()
    paged = _walk_register(w, 2)
    assert [e["id"] for e in paged] == [e["id"] for e in full] and len(paged) >= 5
    only = w.client.get(f"{API}/register/page", params={"kind": "playback", "limit": 200},
                        headers=w.admin).json()  # fmt: skip
    assert {e["kind"] for e in only["entries"]} == {"playback"}
    half = w.client.get(f"{API}/register/page", params={"before_id": 3}, headers=w.admin)
    assert half.status_code == 422


def test_a_nul_in_a_search_is_refused_not_a_server_error(
    client: TestClient, admin: dict[str, str]
) -> None:
    for params in ({"q": "a\x00b"}, {"action": "\x00"}, {"actor": "x\x00"}):
        r = client.get(f"{API}/audit/search", params=params, headers=admin)
        assert r.status_code == 422, (params, r.text)
    for path in ("/register", "/register/page"):
        r = client.get(f"{API}{path}", params={"person": "a\x00"}, headers=admin)
        assert r.status_code == 422, r.text
    r = client.get(f"{API}/audit/search", params={"q": "'; drop table x; --"}, headers=admin)
    assert r.status_code == 200 and r.json()["entries"] == []
