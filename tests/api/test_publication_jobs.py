"""Publication masking as background jobs: 202 and the job's state, progress as it moves, a
render interrupted and crashed then done again by another runner (released exactly once,
nothing written by the crash), a failure with its reason and the retry, and the housekeeper's
thread running the jobs, stopped mid-render and started again (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from custos.adapters.db.audit_log import AuditRepository
from custos.domain.access import Role
from custos.domain.audit import AuditEvent
from custos.domain.duty_leases import Duty
from custos.domain.register import RegisterKind, RegisterQuery
from custos.entrypoints.workers.housekeeper import Housekeeper
from custos.services.publication import RELEASE_ACTION
from custos.services.publication_jobs import FAILED_ACTION, PublicationJobs
from tests.api.access_world import XIAN, World
from tests.api.builders import API

pytestmark = pytest.mark.slow  # an export, detection and an H.264 re-encode
PURPOSE = "公开通报"
EVERYTHING = ["faces", "plates", "organisation_names", "individual_features"]
CONFIRMED = {"confirmed": ["organisation_names", "individual_features"]}
FRAMES = 250  # the export: ten seconds at 25 fps


class Crash(BaseException):
    """The process dying mid-transaction (nothing of the job catches it)."""


def _manager(w: World) -> dict[str, str]:
    return w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)


def _ask(w: World) -> int:
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(0, 10), "purpose": PURPOSE}
    r = w.client.post(f"{API}/exports", json=body, headers=_manager(w))
    assert r.status_code == 201, r.text
    ask = {"export_id": r.json()["id"], "division_code": XIAN, "purpose": PURPOSE,
           "mask": EVERYTHING}  # fmt: skip
    r = w.client.post(f"{API}/publications", json=ask, headers=_manager(w))
    assert r.status_code == 202, r.text
    return int(r.json()["id"])


def _case(w: World, case_id: int) -> dict[str, Any]:
    r = w.client.get(f"{API}/publications/{case_id}", headers=w.people["head"])
    assert r.status_code == 200, r.text
    return dict(r.json())


def _jobs(w: World, **kwargs: Any) -> PublicationJobs:
    return PublicationJobs(w.container.publications, **kwargs)


def _export_file(w: World) -> Path:
    (one,) = (Path(w.container.settings.data_dir) / "exports").glob("*.zip")
    return one


def _released_records(w: World, case_id: int) -> tuple[int, int, int]:
    """Register entries of kind publication, publication.release and export.package entries
    of the case."""
    with w.container.uow() as uow:
        entries = uow.register.find(RegisterQuery(kind=RegisterKind.PUBLICATION))
        log = [e for _, e in uow.audit.find(limit=1000) if e.object_id == str(case_id)]
    releases = [e for e in log if e.action == RELEASE_ACTION and e.object_type == "publication"]
    packages = [e for e in log if e.action == "export.package" and e.object_type == "publication"]
    return len(entries), len(releases), len(packages)


def _approved(w: World) -> int:
    case_id = _ask(w)
    assert _jobs(w).run_pending() == 1
    url = f"{API}/publications/{case_id}"
    r = w.client.post(f"{url}/approve", json=CONFIRMED, headers=w.people["head"])
    assert r.status_code == 200, r.text
    return case_id


def test_a_request_is_accepted_as_detecting_and_its_progress_moves(world: World) -> None:
    w = world
    case_id = _ask(w)
    case = _case(w, case_id)
    assert case["state"] == "detecting" and case["tracks"] == []
    assert case["job"]["stage"] == "detect" and case["job"]["done"] == 0
    (own,) = w.client.get(f"{API}/publications", headers=_manager(w)).json()
    assert own["state"] == "detecting" and own["job"]["by"] == "manager1"
    frame = w.client.get(
        f"{API}/publications/{case_id}/frame.jpg?frame=0", headers=w.people["head"]
    )
    assert frame.status_code == 409  # nothing to show before detection

    # a fake monotonic clock: a quarter second a frame, so progress is written every 4th frame
    ticks = itertools.count(step=0.25)
    seen: list[tuple[int, int, float | None]] = []

    def held() -> bool:  # asked before each progress write: what the case shows then
        job = _case(w, case_id)["job"]
        seen.append((job["done"], job["total"], job["eta_s"]))
        return True

    jobs = _jobs(w, monotonic=lambda: next(ticks))
    assert jobs.run_pending(held) == 1
    done = [d for d, _, _ in seen]
    assert done == sorted(done) and done[-1] > done[2] > 0, done  # it moved, as others saw
    assert len(seen) <= FRAMES // 4 + 2  # at most once a (fake) second
    assert all(total == FRAMES and eta is not None for _, total, eta in seen[2:])
    case = _case(w, case_id)
    assert case["state"] == "proposed" and case["video"]["frames"] == FRAMES
    assert case["job"]["done"] == case["job"]["total"] == FRAMES
    assert case["job"]["percent"] == 100.0 and case["job"]["attempt"] == 1
    assert jobs.run_pending(held) == 0  # nothing left


def test_a_render_cut_short_is_redone_and_released_exactly_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, reviewer = world, world.people["head"]
    case_id = _approved(w)
    url = f"{API}/publications/{case_id}"
    r = w.client.post(f"{url}/release", headers=reviewer)
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "rendering" and r.json()["job"]["stage"] == "render"
    assert w.client.post(f"{url}/release", headers=reviewer).status_code == 409  # queued once

    # a server that loses its lease mid-render: the job stops, the case stays rendering
    answers = iter([True, True, False])  # the pass, the first report, then lost
    first = _jobs(w, progress_every_s=0.0)
    assert first.run_pending(lambda: next(answers, False)) == 0
    case = _case(w, case_id)
    assert case["state"] == "rendering" and case["job"]["attempt"] == 1
    assert case["job"]["done"] > 0

    # another that dies while committing the release (the log append fails): nothing written
    append: Callable[..., int] = AuditRepository.append

    def dying(self: AuditRepository, event: AuditEvent, *args: Any, **kwargs: Any) -> int:
        if event.action == RELEASE_ACTION:
            raise Crash
        return append(self, event, *args, **kwargs)

    monkeypatch.setattr(AuditRepository, "append", dying)
    with pytest.raises(Crash):
        _jobs(w).run_pending()
    monkeypatch.undo()
    case = _case(w, case_id)
    assert case["state"] == "rendering" and case["package_sha256"] is None
    assert case["reviewer"] == "head"  # the approval stands
    assert _released_records(w, case_id) == (0, 0, 0)  # no register entry, no log entry
    assert list((Path(w.container.settings.data_dir) / "publications").glob("*.zip")) == []

    # a fresh runner (a restarted server, or the lease's next holder) does it from the start
    again = _jobs(w)
    assert again.run_pending() == 1
    case = _case(w, case_id)
    assert case["state"] == "released" and case["job"]["attempt"] == 3
    assert _released_records(w, case_id) == (1, 1, 1)
    got = w.client.get(f"{url}/file", headers=reviewer)
    assert got.status_code == 200 and got.headers["X-Content-SHA256"] == case["package_sha256"]
    assert again.run_pending() == 0 and _jobs(w).run_pending() == 0
    assert _released_records(w, case_id) == (1, 1, 1)


def test_a_failed_job_says_why_and_is_retried(world: World) -> None:
    w, manager, reviewer = world, _manager(world), world.people["head"]
    officer = w.people["officer"]
    case_id = _ask(w)
    url = f"{API}/publications/{case_id}"
    source = _export_file(w)
    hidden = source.with_suffix(".away")
    source.rename(hidden)
    assert _jobs(w).run_pending() == 1
    case = _case(w, case_id)
    assert case["state"] == "failed"
    assert case["job"]["reason"] == "publication.failed.source"
    assert case["job"]["detail"].startswith("source:")
    assert str(w.container.settings.data_dir) not in case["job"]["detail"]  # no path shown
    (own,) = w.client.get(f"{API}/publications", headers=manager).json()
    assert own["job"]["reason"] == "publication.failed.source"  # the requester sees why
    log = w.client.get(f"{API}/audit/entries?limit=1000", headers=w.admin).json()["entries"]
    failed = [e["entry"] for e in log if e["entry"]["action"] == FAILED_ACTION]
    assert [(e["object_id"], e["detail"]["stage"], e["detail"]["reason"]) for e in failed] == [
        (str(case_id), "detect", "publication.failed.source")
    ]

    assert w.client.post(f"{url}/retry", headers=officer).status_code == 403
    assert w.client.post(f"{url}/approve", json=CONFIRMED, headers=reviewer).status_code == 409
    hidden.rename(source)
    r = w.client.post(f"{url}/retry", headers=manager)  # the requester retries detection
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "detecting" and r.json()["job"]["reason"] is None
    assert w.client.post(f"{url}/retry", headers=manager).status_code == 409  # not failed now
    assert _jobs(w).run_pending() == 1
    assert _case(w, case_id)["state"] == "proposed"

    # the render fails the same way; a reviewer retries it
    assert w.client.post(f"{url}/approve", json=CONFIRMED, headers=reviewer).status_code == 200
    assert w.client.post(f"{url}/release", headers=reviewer).status_code == 202
    source.rename(hidden)
    assert _jobs(w).run_pending() == 1
    case = _case(w, case_id)
    assert case["state"] == "failed" and case["job"]["stage"] == "render"
    assert _released_records(w, case_id) == (0, 0, 0)
    hidden.rename(source)
    assert w.client.post(f"{url}/retry", headers=officer).status_code == 403
    assert w.client.post(f"{url}/retry", headers=reviewer).status_code == 202
    assert _jobs(w).run_pending() == 1
    assert _case(w, case_id)["state"] == "released"
    assert _released_records(w, case_id) == (1, 1, 1)


class _SlowMasker:
    """The masker, its render slowed to 20 ms a frame: a job still running when asked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def render(self, video: Path, target: Path, boxes: Any, zones: Any, mode: Any,
               progress: Callable[[int, int], None] | None = None) -> str:  # fmt: skip
        def slow(done: int, total: int) -> None:
            time.sleep(0.02)
            if progress is not None:
                progress(done, total)

        return str(self.inner.render(video, target, boxes, zones, mode, slow))


def _until(w: World, case_id: int, ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while not ok(case := _case(w, case_id)):
        assert time.monotonic() < deadline, case
        time.sleep(0.2)
    return case


def test_the_housekeeper_runs_the_jobs_and_a_restarted_one_takes_up_a_cut_render(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, reviewer = world, world.people["head"]
    case_id = _ask(w)
    keeper = Housekeeper(w.container, every_s=0.2)
    keeper.start()
    try:
        _until(w, case_id, lambda k: k["state"] == "proposed")  # detection, by the thread
        url = f"{API}/publications/{case_id}"
        assert w.client.post(f"{url}/approve", json=CONFIRMED, headers=reviewer).status_code == 200
        monkeypatch.setattr(
            w.container.publications, "masker", _SlowMasker(w.container.publications.masker)
        )
        assert w.client.post(f"{url}/release", headers=reviewer).status_code == 202
        _until(w, case_id, lambda k: k["job"]["done"] > 0)  # rendering, its progress shown
    finally:
        keeper.stop()  # the server stops mid-render
    assert keeper.passes[Duty.PUBLICATIONS] > 0
    case = _case(w, case_id)
    assert case["state"] == "rendering" and case["job"]["attempt"] == 1, case["job"]
    assert 0 < case["job"]["done"] < FRAMES
    assert _released_records(w, case_id) == (0, 0, 0)

    monkeypatch.undo()
    again = Housekeeper(w.container, every_s=0.2)  # the server started again
    again.start()
    try:
        case = _until(w, case_id, lambda k: k["state"] != "rendering")
    finally:
        again.stop()
    assert case["state"] == "released" and case["job"]["attempt"] == 2
    assert _released_records(w, case_id) == (1, 1, 1)
