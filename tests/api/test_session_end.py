"""POST /sessions/{id}/end: the holder ends a playback session (the page does when it is left)
and the register entry gets its end time; ending twice changes nothing; others cannot."""

from __future__ import annotations

from typing import Any

from custos.domain.access import Role
from tests.api.access_world import XIAN, World
from tests.api.builders import API


def _register_entry(w: World, session_id: int) -> dict[str, Any]:
    r = w.client.get(f"{API}/register", headers=w.admin)
    assert r.status_code == 200, r.text
    body = r.json()
    rows = body["entries"] if isinstance(body, dict) else body
    [entry] = [e for e in rows if e["session_id"] == session_id]
    return entry  # type: ignore[no-any-return]


def test_ending_a_playback_session_gives_the_register_its_end_time(world: World) -> None:
    w = world
    duty = w.person("duty-xian", Role.OPERATOR, unit_id=w.unit_id)
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(0, 25), "purpose": "核查"}
    r = w.client.post(f"{API}/playback/sessions", json=body, headers=duty)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert _register_entry(w, sid)["ended_at"] is None
    other = w.person("duty-other", Role.OPERATOR, unit_id=w.unit_id)
    assert w.client.post(f"{API}/sessions/{sid}/end", headers=other).status_code == 404
    r = w.client.post(f"{API}/sessions/{sid}/end", headers=duty)
    assert r.status_code == 200, r.text
    ended = _register_entry(w, sid)["ended_at"]
    assert ended is not None
    again = w.client.post(f"{API}/sessions/{sid}/end", headers=duty)
    assert again.status_code == 200 and _register_entry(w, sid)["ended_at"] == ended
    seg = w.client.get(
        f"{API}/sessions/{sid}/segments",
        params={"camera_id": w.cameras[XIAN], **w.range(0, 25)},
        headers=duty,
    )
    assert seg.status_code == 422  # an ended session serves nothing more
    log = w.client.get(f"{API}/audit/entries?limit=1000", headers=w.admin).json()["entries"]
    assert [e["entry"]["object_id"] for e in log if e["entry"]["action"] == "session.end"] == [
        str(sid)
    ]
