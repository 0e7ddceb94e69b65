"""Retention as a floor: footage ages across each jurisdiction's floor under an injected clock;
holds and access requests protect it; no path deletes it early; a crash mid-purge is finished."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.alarms import Alarm, AlarmKind, Severity
from custos.domain.clock import ManualClock
from custos.domain.recording import Segment
from custos.domain.retention import GarbageRow
from custos.domain.users import SYSTEM
from custos.services.storage_watch import StorageFullAlarm, StorageWatch
from tests.api.access_world import DIVISIONS, SEGMENT_S, TONGCHUAN, XIAN, World
from tests.api.builders import API, rule_ids


def clock_of(w: World) -> ManualClock:
    clock = w.container.clock
    assert isinstance(clock, ManualClock)
    return clock


def segments(c: Container, camera_id: int | None = None) -> list[Segment]:
    with c.uow() as uow:
        return uow.segments.find(camera_id)


def store(c: Container) -> SegmentStore:
    return SegmentStore(c.settings.resolved_media_dir())


def last_end(w: World) -> object:
    assert w.footage_start is not None
    return w.footage_start + timedelta(seconds=3 * SEGMENT_S)


@pytest.mark.parametrize("division", DIVISIONS)
def test_footage_ages_across_each_jurisdictions_floor(world: World, division: str) -> None:
    w, c = world, world.container
    cam = w.cameras[division]
    policy = c.retention.policy_for(cam)
    assert policy.days >= policy.floor.value >= 30  # Decree 799 art. 17 raises every floor to 30
    paths = [store(c).absolute(s.path) for s in segments(c, cam)]
    clock = clock_of(w)
    first_end = min(s.end_at for s in segments(c, cam))
    clock.set(first_end + timedelta(days=policy.days) - timedelta(seconds=1))
    report = c.retention.purge()
    assert report.deleted == [], "deleted inside retention"
    assert len(segments(c, cam)) == 3 and all(p.exists() for p in paths)
    clock.set(first_end + timedelta(days=policy.days))  # the first segment is now past it
    report = c.retention.purge()
    assert [s.sequence for s in segments(c, cam)] == [1, 2]
    clock.set(last_end(w) + timedelta(days=policy.days, seconds=1))  # type: ignore[operator]
    report = c.retention.purge()
    assert segments(c, cam) == []
    assert not any(p.exists() for p in paths)
    with c.uow() as uow:
        actions = [e.action for _, e in uow.audit.find(limit=100_000)]
        assert uow.garbage.find() == []
    assert "retention.purge" in actions and "retention.purged" in actions


def test_an_explicit_delete_inside_retention_is_refused_with_the_articles(world: World) -> None:
    w, c = world, world.container
    seg = segments(c, w.cameras[XIAN])[0]
    r = w.client.delete(f"{API}/segments/{seg.id}", headers=w.admin)
    assert r.status_code == 422
    assert "national-2025:art17" in {i.split(".")[0] for i in rule_ids(r.json())}
    assert len(segments(c, w.cameras[XIAN])) == 3
    assert store(c).absolute(seg.path).exists()
    officer = w.people["officer"]
    assert w.client.delete(f"{API}/segments/{seg.id}", headers=officer).status_code == 403


def test_the_cli_refuses_to_delete_inside_retention(world: World) -> None:
    c = world.container
    seg = segments(c, world.cameras[XIAN])[0]
    env = {**os.environ, "CUSTOS_DATA_DIR": str(c.settings.data_dir)}
    if c.settings.database_url:
        env["CUSTOS_DATABASE_URL"] = c.settings.database_url
    done = subprocess.run(
        [sys.executable, "-m", "custos", "footage", "delete", str(seg.id)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refused" in done.stderr and "national-2025" in done.stderr
    assert len(segments(c, world.cameras[XIAN])) == 3


def test_holds_survive_the_purge_and_release_takes_two_people(world: World) -> None:
    w, c = world, world.container
    cam = w.cameras[TONGCHUAN]
    keeper = w.person("keeper", Role.UNIT_MANAGER, unit_id=w.unit_id)
    second = w.person("second", Role.SUPERVISOR)
    body = {"case_number": "2026-刑-118", "reason": "theft", "camera_ids": [cam], **w.range(0, 5)}
    r = w.client.post(f"{API}/holds", json=body, headers=keeper)
    assert r.status_code == 201, r.text
    hold_id = r.json()["id"]
    policy = c.retention.policy_for(cam)
    clock = clock_of(w)
    clock.set(last_end(w) + timedelta(days=policy.days + 1))  # type: ignore[operator]
    report = c.retention.purge()
    assert report.kept_held == 1
    [kept] = segments(c, cam)
    assert kept.sequence == 0 and store(c).absolute(kept.path).exists()
    # tokens expired with the clock: sign in again
    w.people.clear()
    keeper = w.person("keeper", Role.UNIT_MANAGER, unit_id=w.unit_id)
    second = w.person("second", Role.SUPERVISOR)
    r = w.client.post(f"{API}/holds/{hold_id}/release", headers=keeper)
    assert r.status_code == 422  # nobody asked yet
    r = w.client.post(
        f"{API}/holds/{hold_id}/release-request", json={"reason": "case closed"}, headers=keeper
    )
    assert r.status_code == 200 and r.json()["state"] == "release_requested"
    r = w.client.post(f"{API}/holds/{hold_id}/release", headers=keeper)
    assert r.status_code == 422 and "second person" in r.json()["errors"][0]["reason"]
    c.retention.purge()
    assert len(segments(c, cam)) == 1  # still held while the release awaits approval
    r = w.client.post(f"{API}/holds/{hold_id}/release", headers=second)
    assert r.status_code == 200 and r.json()["state"] == "released"
    c.retention.purge()
    assert segments(c, cam) == []


def test_important_footage_is_held_one_year(world: World) -> None:
    w = world
    body = {
        "kind": "important_footage",
        "case_number": "重要-1",
        "reason": "有重要价值",
        "camera_ids": [w.cameras[XIAN]],
        **w.range(0, 30),
    }
    r = w.client.post(f"{API}/holds", json=body, headers=w.admin)
    assert r.status_code == 201, r.text
    created = w.container.clock.now()
    assert datetime.fromisoformat(r.json()["expires_at"]) == created + timedelta(days=365)


def test_bad_holds_are_refused_and_change_nothing(world: World) -> None:
    w = world
    bad = [
        ({"camera_ids": [9999], **w.range(0, 5)}, "camera_ids[0]"),
        ({"camera_ids": [w.cameras[XIAN]], **w.range(10, 5)}, "end"),
    ]
    for extra, field in bad:
        body = {"case_number": "X", "reason": "r", **extra}
        r = w.client.post(f"{API}/holds", json=body, headers=w.admin)
        assert r.status_code == 422, r.text
        assert field in {e["field"] for e in r.json()["errors"]}
    assert w.client.get(f"{API}/holds", headers=w.admin).json() == []


def test_a_pending_access_request_freezes_footage_against_the_purge(world: World) -> None:
    w, c = world, world.container
    cam = w.cameras[TONGCHUAN]
    from tests.api.access_world import request_body

    body = request_body(w, TONGCHUAN, "view")
    body["expires_at"] = (c.clock.now() + timedelta(days=90)).isoformat()
    r = w.client.post(f"{API}/requests", json=body, headers=w.people["officer"])
    assert r.status_code == 201, r.text
    r = w.client.post(f"{API}/requests/{r.json()['id']}/submit", headers=w.people["officer"])
    assert r.status_code == 200, r.text
    clock = clock_of(w)
    clock.set(last_end(w) + timedelta(days=c.retention.policy_for(cam).days + 1))  # type: ignore[operator]
    report = c.retention.purge()
    assert report.kept_frozen == 3 and len(segments(c, cam)) == 3


def test_a_crash_mid_purge_is_finished_by_the_next_purge(world: World) -> None:
    w, c = world, world.container
    cam = w.cameras[XIAN]
    clock = clock_of(w)
    clock.set(last_end(w) + timedelta(days=c.retention.policy_for(cam).days + 1))  # type: ignore[operator]
    seg = segments(c, cam)[0]
    assert seg.id is not None
    with c.uow() as uow:  # step 1 done, then the process died: a garbage row, file still there
        uow.garbage.add(
            [GarbageRow(seg.id, cam, seg.path, seg.sha256, seg.bytes, clock.now(), "crashed")]
        )
        uow.commit()
    store(c).remove(seg.path)  # …and perhaps even the unlink happened
    report = c.retention.purge()
    assert report.finished_garbage == 1
    assert all(s.id != seg.id for s in segments(c))
    with c.uow() as uow:
        assert uow.garbage.find() == []


def test_the_scrub_raises_an_integrity_alarm_for_a_changed_file(world: World) -> None:
    w, c = world, world.container
    seg = segments(c, w.cameras[XIAN])[1]
    path = store(c).absolute(seg.path)
    path.chmod(0o644)
    with path.open("r+b") as f:
        f.seek(100)
        f.write(b"tampered")
    report = c.scrubber.run(batch=100)
    assert report.mismatched == [seg.id] and report.checked == 15
    alarms = w.client.get(f"{API}/alarms", headers=w.admin).json()
    assert [(a["kind"], a["severity"]) for a in alarms] == [("integrity", "critical")]
    assert report.missing == []


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB tmpfs: too small to hold 30 days of the test cameras' footage."""
    mnt = tmp_path / "volume"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (run as root): {done.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_a_small_volume_raises_the_projection_alarm_and_recovers_without_deleting(
    world: World, small_volume: Path
) -> None:
    c = world.container
    vol = SegmentStore(small_volume)
    watch = StorageWatch(c.uow, c.clock, c.retention, c.alarms, str(small_volume), vol.disk_usage)
    before = len(segments(c))
    p = watch.check()
    assert p.days_possible is not None and p.days_possible < p.days_required
    alarms = c.alarms.find(SYSTEM)
    assert [(a.kind, a.severity) for a in alarms] == [
        (AlarmKind.RETENTION_PROJECTION, Severity.CRITICAL)
    ]
    c.retention.purge()  # a full disk never makes the purge delete footage in retention
    assert len(segments(c)) == before
    subprocess.run(["mount", "-o", "remount,size=4t", str(small_volume)], check=True)
    p = watch.check()
    assert not p.short
    assert c.alarms.find(SYSTEM) == []


def test_cameras_stopped_for_want_of_space_raise_a_critical_alarm_until_none_is(
    world: World,
) -> None:
    """The recorder keeps it (``StorageFullAlarm.update`` every tick, from its own state); the
    latency is measured against a real recorder in tests/integration/recorder/test_bad_input.py."""
    c, cam = world.container, world.cameras[XIAN]

    def storage_full() -> list[Alarm]:
        return [a for a in c.alarms.find(SYSTEM) if a.kind is AlarmKind.STORAGE_FULL]

    alarm = StorageFullAlarm(c.alarms)
    assert alarm.update([cam]) is True
    [raised] = storage_full()
    assert raised.severity is Severity.CRITICAL and raised.detail["camera_ids"] == [cam]
    assert alarm.update([cam]) is False  # nothing written while nothing changes
    c.storage.check()  # the housekeeper's projection leaves it to the recorder
    assert storage_full() == [raised]
    assert alarm.update([]) is True
    assert storage_full() == []
    assert alarm.update([]) is False
    # a recorder that starts again clears what the last one left open
    StorageFullAlarm(c.alarms).update([cam])
    assert StorageFullAlarm(c.alarms).update([]) is True and storage_full() == []
    assert StorageFullAlarm(c.alarms).update([]) is False  # nothing was open


def test_a_storage_full_alarm_resolved_while_the_disk_is_still_full_comes_back(
    world: World,
) -> None:
    c, cam = world.container, world.cameras[XIAN]
    ticks = iter(float(t) for t in range(0, 1000, 5))  # the recorder's 0.5-s ticks, sped up
    alarm = StorageFullAlarm(c.alarms, monotonic=lambda: next(ticks))
    alarm.update([cam])
    [raised] = [a for a in c.alarms.find(SYSTEM) if a.kind is AlarmKind.STORAGE_FULL]
    c.alarms.resolve(SYSTEM, raised.id or 0, "cleared some space, I think")
    assert [a for a in c.alarms.find(SYSTEM) if a.kind is AlarmKind.STORAGE_FULL] == []
    alarm.update([cam])  # 5 s later: not yet
    alarm.update([cam])  # 10 s after it was raised: raised again, the cameras are still stopped
    [again] = [a for a in c.alarms.find(SYSTEM) if a.kind is AlarmKind.STORAGE_FULL]
    assert again.id != raised.id and again.detail["camera_ids"] == [cam]
