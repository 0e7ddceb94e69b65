"""The duty wall's saved layouts through the API, on SQLite and PostgreSQL: one's own layout
saved and opened, the room's opened without one (the room signed on in first, else the unit's
oldest), refusals naming the field (shape, reach, the room's cameras) and the permissions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from tests.api.builders import API, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs

XIAN = "610113"
WALL = f"{API}/wall/layout"


@dataclass
class Wall:
    cams: list[int]  # unit 1's cameras; the room watches the first two
    foreign: int  # unit 2's camera
    room: int
    manager: dict[str, str]
    a: dict[str, str]  # operator 甲
    b: dict[str, str]  # operator 乙
    other_manager: dict[str, str]  # unit 2's manager


def _camera(client: TestClient, admin: dict[str, str], site: int, serial: int) -> int:
    r = client.post(f"{API}/cameras", json=camera_body(site, XIAN, serial=serial), headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _wall(client: TestClient, admin: dict[str, str], login_as: LoginAs) -> Wall:
    unit, other = make_unit(client, admin, 1), make_unit(client, admin, 2)
    site, other_site = make_site(client, admin, unit, XIAN), make_site(client, admin, other, XIAN)
    cams = [_camera(client, admin, site, n) for n in (1, 2, 3)]
    foreign = _camera(client, admin, other_site, 4)
    manager = login_as(Role.UNIT_MANAGER, unit)
    body = {"site_id": site, "name": "一号监控室", "camera_ids": cams[:2]}
    r = client.post(f"{API}/monitoring-rooms", json=body, headers=manager)
    assert r.status_code == 201, r.text
    return Wall(
        cams,
        foreign,
        int(r.json()["id"]),
        manager,
        login_as(Role.OPERATOR, unit, name="op-a"),
        login_as(Role.OPERATOR, unit, name="op-b"),
        login_as(Role.UNIT_MANAGER, other),
    )


def _opened(client: TestClient, who: dict[str, str]) -> dict[str, Any]:
    r = client.get(WALL, headers=who)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _fields(r: Any) -> set[str]:
    return {e["field"] for e in r.json()["errors"]}


def test_mine_is_opened_else_the_rooms_signed_on_first_and_each_save_is_logged(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    w = _wall(client, admin, login_as)
    assert _opened(client, w.a) == {"layout": None, "source": None, "room_id": None, "rooms": []}
    assert [r["id"] for r in _opened(client, w.manager)["rooms"]] == [w.room]

    tour = {"camera_ids": w.cams[:2], "interval_s": 10}
    room_tiles = [{"camera_id": w.cams[0]}, {"tour": tour}, {}]
    r = client.put(f"{API}/wall/rooms/{w.room}/layout", json={"grid": "4", "tiles": room_tiles},
                   headers=w.manager)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["room_id"] == w.room and r.json()["owner_id"] is None
    seen = _opened(client, w.a)
    assert (seen["source"], seen["room_id"], seen["rooms"]) == ("room", w.room, [])
    assert seen["layout"]["tiles"] == room_tiles and seen["layout"]["rows"] == 2

    mine = [{"camera_id": w.cams[2]}, {}, {"tour": {"camera_ids": w.cams, "interval_s": 600}}]
    r = client.put(WALL, json={"grid": "2x3", "tiles": mine}, headers=w.a)
    assert r.status_code == 200, r.text
    assert (r.json()["rows"], r.json()["cols"], r.json()["updated_by"]) == (2, 3, "op-a")
    seen = _opened(client, w.a)
    assert (seen["source"], seen["layout"]["tiles"], seen["layout"]["grid"]) == (
        "user", mine, "2x3"
    )  # fmt: skip
    r = client.put(WALL, json={"grid": "1", "tiles": [{"camera_id": w.cams[1]}]}, headers=w.a)
    assert r.json()["id"] == seen["layout"]["id"]  # saved again in place
    assert _opened(client, w.b)["source"] == "room"  # a's layout is a's alone

    # a second room of the unit with its own layout: b opens it once signed on there
    r = client.post(f"{API}/monitoring-rooms", json={"site_id": _site_of(client, w), "name": "二号"},
                    headers=w.manager)  # fmt: skip
    second = int(r.json()["id"])
    r = client.put(f"{API}/wall/rooms/{second}/layout",
                   json={"grid": "9", "tiles": [{"camera_id": w.cams[2]}]}, headers=w.manager)  # fmt: skip
    assert r.status_code == 200, r.text  # a whole-unit room takes any camera of the unit
    assert _opened(client, w.b)["room_id"] == w.room  # not on duty: the unit's oldest room
    assert client.post(f"{API}/monitoring-rooms/{second}/sign-on", headers=w.b).status_code == 201
    assert _opened(client, w.b)["room_id"] == second

    assert client.delete(WALL, headers=w.a).status_code == 204
    assert _opened(client, w.a)["source"] == "room"
    with container.uow() as uow:
        actions = [e.action for _, e in uow.audit.find(limit=10_000)]
    assert actions.count("wall.layout.save") == 4 and actions.count("wall.layout.drop") == 1


def _site_of(client: TestClient, w: Wall) -> int:
    r = client.get(f"{API}/monitoring-rooms/{w.room}", headers=w.manager)
    return int(r.json()["site_id"])


def test_refusals_name_the_field_and_the_permissions_hold(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    w = _wall(client, admin, login_as)
    bad = [
        {"camera_id": w.cams[0], "tour": {"camera_ids": w.cams[:2], "interval_s": 10}},
        {"tour": {"camera_ids": [w.cams[0]], "interval_s": 3}},
        {"tour": {"camera_ids": [w.cams[0], w.cams[0]], "interval_s": 10}},
    ]
    r = client.put(WALL, json={"grid": "7x1", "tiles": bad}, headers=w.a)
    assert r.status_code == 422, r.text
    assert _fields(r) == {
        "grid", "tiles[0]", "tiles[1].tour.camera_ids", "tiles[1].tour.interval_s",
        "tiles[2].tour.camera_ids",
    }  # fmt: skip
    r = client.put(WALL, json={"grid": "1", "tiles": [{}, {}]}, headers=w.a)
    assert _fields(r) == {"tiles"}
    assert "1" in next(e["text"] for e in r.json()["errors"])  # 该布局最多1个画面
    r = client.put(WALL, json={"grid": "4", "tiles": [{}, {"tour": {"camera_ids": [w.cams[0],
                   w.foreign], "interval_s": 5}}]}, headers=w.a)  # fmt: skip
    assert r.status_code == 422 and _fields(r) == {"tiles[1].tour.camera_ids[1]"}
    assert str(w.foreign) in r.json()["errors"][0]["text"]  # another unit's camera: not in reach

    room = f"{API}/wall/rooms/{w.room}/layout"
    r = client.put(room, json={"grid": "4", "tiles": [{"camera_id": w.cams[2]}]}, headers=w.manager)
    assert r.status_code == 422 and _fields(r) == {"tiles[0].camera_id"}  # not the room's
    assert r.json()["errors"][0]["key"] == "refusal.wall.not_in_room"
    fine = {"grid": "1", "tiles": [{"camera_id": w.cams[0]}]}
    assert client.put(room, json=fine, headers=w.a).status_code == 403  # an operator: their own
    assert client.put(room, json=fine, headers=w.other_manager).status_code == 404
    assert client.put(f"{API}/wall/rooms/999999/layout", json=fine,
                      headers=w.manager).status_code == 404  # fmt: skip
    assert client.get(WALL, headers=admin).status_code == 403  # no live view, no wall
    r = client.put(WALL, json={"grid": "4", "tiles": [{"tour": {"camera_ids": [1, 2],
                   "interval_s": 10**6}}]}, headers=w.a)  # fmt: skip
    assert r.status_code == 422 and _fields(r) == {"tiles.0.tour.interval_s"}  # bounded
