"""Video quality diagnosis end to end: sealed segments made by ffmpeg, the sampler decoding one
keyframe of each, a ``diagnosis`` alarm after K faulty samples and its clearing after K good
ones; thresholds and the four-eyes reference over the API (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import subprocess
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.alarms import AlarmKind, Severity
from custos.domain.clock import ManualClock
from custos.domain.diagnosis import FrameMetrics
from custos.domain.recording import CameraHealth, RecorderState, Segment
from custos.domain.users import SYSTEM
from custos.services.diagnosis import DiagnosisService
from tests.api.builders import API, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs

CLEAN, BLURRED = "clean", "blurred"


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """One-second clips of a moving test picture, each from a later moment, clean and blurred."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is missing: run scripts/setup")
    root = tmp_path_factory.mktemp("diagnosis-clips")
    made: dict[str, list[Path]] = {CLEAN: [], BLURRED: []}
    for kind, vf in ((CLEAN, "null"), (BLURRED, "gblur=sigma=8")):
        for i in range(4):
            out = root / f"{kind}{i}.mp4"
            subprocess.run(
                ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
                 "-i", f"testsrc2=size=480x270:rate=25:duration={i * 3 + 1}",
                 "-ss", str(i * 3), "-vf", vf, "-c:v", "libx264", "-preset", "ultrafast",
                 "-g", "25", "-pix_fmt", "yuv420p", str(out)],
                check=True,
            )  # fmt: skip
            made[kind].append(out)
    return made


def _camera(client: TestClient, admin: dict[str, str], division: str = "500103") -> int:
    site = make_site(client, admin, make_unit(client, admin), division)
    r = client.post(f"{API}/cameras", json=camera_body(site, division), headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _recording(c: Container, cid: int) -> None:
    now = c.clock.now()
    c.recording.publish_health(
        [CameraHealth(cid, RecorderState.RECORDING, None, "", now, now, 25.0, 500.0, now)]
    )


def _seal(c: Container, cid: int, seq: int, clip: Path, duration_s: float = 1.0) -> None:
    store = SegmentStore(c.settings.resolved_media_dir())
    path = store.run_dir(cid, "run") / f"{seq:06d}.mp4"
    shutil.copyfile(clip, path)
    sealed = store.seal(path)
    end = c.clock.now()
    c.recording.seal(
        Segment(None, cid, "run", seq, store.relative(path), end - timedelta(seconds=duration_s),
                end, duration_s, sealed.bytes, sealed.sha256, "h264", 480, 270, end)
    )  # fmt: skip


def test_a_minute_segment_is_sampled_every_thirty_seconds_of_recorded_time(
    client: TestClient, admin: dict[str, str], container: Container, tmp_path: Path
) -> None:
    """A 60 s segment with a keyframe every 2 s gives two samples at N = 30 (offsets 0 and
    30 s), not one per segment; both reach the K-in-a-row counters."""
    assert container.settings.diagnosis_every_s == 30
    clip = tmp_path / "minute.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=320x180:rate=25:duration=60", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    clock = container.clock
    assert isinstance(clock, ManualClock)
    cid = _camera(client, admin)
    clock.advance(timedelta(seconds=60))
    _recording(container, cid)
    _seal(container, cid, 0, clip, duration_s=60.0)
    report = container.diagnosis.tick()
    assert report.sampled == [cid, cid]
    status = client.get(f"{API}/cameras/{cid}/diagnosis", headers=admin).json()
    assert status["baseline_samples"] == 2  # both samples judged and kept for the baseline
    assert container.diagnosis.tick().sampled == []  # the segment is not sampled again


def _sample(c: Container, clock: ManualClock, cid: int, seq: int, clip: Path) -> list[str]:
    clock.advance(timedelta(seconds=30))
    _recording(c, cid)
    _seal(c, cid, seq, clip)
    report = c.diagnosis.tick()
    assert report.sampled == [cid]
    return report.raised + [f"cleared {s}" for s in report.cleared]


def _diagnosis_alarms(c: Container) -> list[str]:
    return [a.subject for a in c.alarms.find(SYSTEM) if a.kind is AlarmKind.DIAGNOSIS]


@pytest.mark.slow
def test_blur_raises_after_three_blurred_samples_in_a_row_and_clears_after_three_good(
    client: TestClient, admin: dict[str, str], container: Container, clips: dict[str, list[Path]]
) -> None:
    clock = container.clock
    assert isinstance(clock, ManualClock)
    cid = _camera(client, admin)
    events = [_sample(container, clock, cid, i, clips[CLEAN][i]) for i in range(3)]
    assert events == [[], [], []]
    status = client.get(f"{API}/cameras/{cid}/diagnosis", headers=admin).json()
    assert status["faults"] == [] and status["baseline_samples"] == 3
    [accepted] = status["references"]
    assert accepted["state"] == "approved" and accepted["proposed_by"] == "system"

    # the first soft sample differs everywhere from the sharp one before, as noise would: it
    # is judged neither blur nor noise; the next three are blur, the third raises
    events = [_sample(container, clock, cid, 3 + i, clips[BLURRED][i]) for i in range(4)]
    assert events == [[], [], [], [f"camera:{cid}:blur"]]
    assert _diagnosis_alarms(container) == [f"camera:{cid}:blur"]
    status = client.get(f"{API}/cameras/{cid}/diagnosis", headers=admin).json()
    assert status["faults"] == ["blur"] and status["counters"]["blur"]["raised"] is True

    events = [_sample(container, clock, cid, 7 + i, clips[CLEAN][i]) for i in range(3)]
    assert events == [[], [], [f"cleared camera:{cid}:blur"]]
    assert _diagnosis_alarms(container) == []
    # nothing sampled twice: the newest segment has been seen
    clock.advance(timedelta(seconds=60))
    assert container.diagnosis.tick().sampled == []


def test_a_reference_is_approved_by_a_second_person_only(
    client: TestClient, admin: dict[str, str], container: Container, login_as: LoginAs,
    clips: dict[str, list[Path]],
) -> None:  # fmt: skip
    clock = container.clock
    assert isinstance(clock, ManualClock)
    cid = _camera(client, admin)
    _sample(container, clock, cid, 0, clips[CLEAN][0])
    wang = login_as(Role.ADMIN, name="wang.wei")
    li = login_as(Role.ADMIN, name="li.na")
    url = f"{API}/cameras/{cid}/diagnosis/references"
    r = client.post(url, json={"reason": "moved 2 m on the approved plan"}, headers=wang)
    assert r.status_code == 201, r.text
    proposed = r.json()
    assert proposed["state"] == "proposed" and proposed["proposed_by"] == "wang.wei"

    own = client.post(f"{API}/diagnosis/references/{proposed['id']}/approve", headers=wang)
    assert own.status_code == 422
    [error] = own.json()["errors"]
    assert error["field"] == "approved_by" and "four eyes" in error["reason"]

    ok = client.post(f"{API}/diagnosis/references/{proposed['id']}/approve", headers=li)
    assert ok.status_code == 200 and ok.json()["approved_by"] == "li.na"
    refs = client.get(f"{API}/cameras/{cid}/diagnosis", headers=admin).json()["references"]
    assert [ref["state"] for ref in refs] == ["superseded", "approved"]
    image = client.get(f"{API}/diagnosis/references/{proposed['id']}/image", headers=admin)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert hashlib.sha256(image.content).hexdigest() == proposed["sha256"]
    entries = [r.entry for r in container.audit.entries(SYSTEM, limit=1000)]
    actions = {(e.get("action"), e.get("actor")) for e in entries}
    assert ("diagnosis.reference.propose", "wang.wei") in actions
    assert ("diagnosis.reference.approve", "li.na") in actions


def test_thresholds_are_bounded_and_need_the_diagnosis_permission(
    client: TestClient, admin: dict[str, str], container: Container, login_as: LoginAs
) -> None:
    cid = _camera(client, admin)
    url = f"{API}/cameras/{cid}/diagnosis/thresholds"
    bad = client.put(url, json={"blur_ratio": 1.5}, headers=admin)
    assert bad.status_code == 422 and "blur_ratio" in bad.text
    ok = client.put(url, json={"k_raise": 5, "blur_ratio": 0.3}, headers=admin)
    assert ok.status_code == 200 and ok.json()["k_raise"] == 5
    status = client.get(f"{API}/cameras/{cid}/diagnosis", headers=admin).json()
    assert status["overrides"] == {"blur_ratio": 0.3, "k_raise": 5}
    assert status["thresholds"]["k_raise"] == 5
    operator = login_as(Role.AUDITOR)  # may read the log, not set thresholds
    assert client.put(url, json={"k_raise": 2}, headers=operator).status_code == 403
    missing = client.get(f"{API}/cameras/999/diagnosis", headers=admin)
    assert missing.status_code == 404


class _Frames:
    """Our own FrameAnalyser port, faked: the metrics each sample measures, in turn."""

    def __init__(self, samples: list[FrameMetrics]) -> None:
        self._samples = samples

    def analyse(
        self, camera_id: int, segment: str, reference: tuple[str, str] | None,
        offsets: Sequence[float] = (0.0,),
    ) -> list[FrameMetrics]:  # fmt: skip
        return [self._samples.pop(0)]

    def keep_reference(self, camera_id: int) -> tuple[str, str]:
        return f"references/{camera_id}-0.png", "0" * 64

    def latest(self, camera_id: int) -> bytes | None:
        return None

    def image(self, relative: str, sha256: str) -> bytes | None:
        return None


SCENE = FrameMetrics(
    mean_luma=120, luma_std=40, dark_fraction=0.0, bright_fraction=0.0, uniform_fraction=0.2,
    blue_screen=False, colour_bars=False, sharpness=0.5, low_texture_fraction=0.1, noise=1.5,
    mean_a=2.0, mean_b=4.0, freeze_diff=5.0, scene_shift=0.0, scene_similarity=0.95,
)  # fmt: skip
TURNED = dataclasses.replace(SCENE, scene_shift=0.2, scene_similarity=0.1)


@pytest.mark.parametrize(
    ("division", "articles"), [("500103", ["chongqing-2016:art20.i7"]), ("440106", [])]
)
def test_a_turned_camera_raises_a_critical_scene_change_citing_the_packs_duty(
    client: TestClient, admin: dict[str, str], container: Container, division: str,
    articles: list[str],
) -> None:  # fmt: skip
    clock = container.clock
    assert isinstance(clock, ManualClock)
    cid = _camera(client, admin, division)
    frames = _Frames([SCENE, TURNED, TURNED, TURNED])
    service = DiagnosisService(container.uow, clock, frames, container.alarms, container.rules)
    raised = []
    for seq in range(4):
        clock.advance(timedelta(seconds=30))
        _recording(container, cid)
        container.recording.seal(
            Segment(None, cid, "run", seq, f"{cid}/run/{seq:06d}.mp4", clock.now(), clock.now(),
                    1.0, 1, "0" * 64, "h264", 480, 270, clock.now())
        )  # fmt: skip
        raised += service.tick().raised
    assert raised == [f"camera:{cid}:scene_change"]
    [alarm] = [a for a in container.alarms.find(SYSTEM) if a.kind is AlarmKind.DIAGNOSIS]
    assert alarm.severity is Severity.CRITICAL and alarm.camera_id == cid
    assert alarm.detail["articles"] == articles
