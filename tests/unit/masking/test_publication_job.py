"""A publication case's job: progress and its estimate, failure, retry, the states it moves."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from custos.domain.errors import Conflict
from custos.domain.masking import MaskMode
from custos.domain.publication import PublicationCase, PublicationState, VideoFacts
from custos.domain.publication_job import (
    FailureCode,
    JobActor,
    JobStage,
    PublicationJob,
)
from custos.services.publication import PublicationService
from custos.services.publication_jobs import PublicationJobs

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
REQUESTER = JobActor(1, "manager", "unit_manager", 7)
REVIEWER = JobActor(2, "head", "approver", None)


def _case() -> PublicationCase:
    return PublicationCase(
        id=1, source_sha256="a" * 64, source_name="export.zip", division_code="610113",
        purpose="news", requested_by=1, requested_by_name="manager", requested_at=T0,
        required={}, video=VideoFacts("", 0, 0, "", 0), tracks=[], settings={},
        mode=MaskMode.PIXELATE, state=PublicationState.DETECTING,
        job=PublicationJob(JobStage.DETECT, REQUESTER),
    )  # fmt: skip


def test_progress_gives_the_percentage_and_the_time_left_from_the_pace_so_far() -> None:
    job = PublicationJob(JobStage.RENDER, REVIEWER)
    job.begin(T0)
    assert (job.attempt, job.done, job.percent, job.eta_s) == (1, 0, 0.0, None)
    job.progress(250, 1000, T0 + timedelta(seconds=10))
    assert job.percent == 25.0 and job.eta_s == 30.0  # 10 s for a quarter: 30 s for the rest
    job.progress(1010, 1000, T0 + timedelta(seconds=40))  # the container under-counted
    assert job.total == 1010 and job.percent == 100.0 and job.eta_s == 0.0
    job.begin(T0 + timedelta(minutes=1))  # started again: from the start
    assert (job.attempt, job.done, job.total) == (2, 0, 0)
    assert job.eta_s is None
    assert PublicationJob.of(job.as_dict()) == job


def test_a_failed_job_keeps_its_reason_until_retried_and_goes_back_to_its_stage() -> None:
    case = _case()
    assert case.job is not None
    case.fail(FailureCode.SOURCE, "source: gone", T0)
    assert case.state is PublicationState.FAILED
    assert case.job.reason == "publication.failed.source" and case.job.detail == "source: gone"
    with pytest.raises(Conflict):
        case.fail(FailureCode.VIDEO, "again", T0)  # only a running job fails
    case.retry(REVIEWER)
    assert case.state is PublicationState.DETECTING  # type: ignore[comparison-overlap]
    assert case.job.reason is None
    assert case.job.by == REVIEWER
    with pytest.raises(Conflict):
        case.retry(REVIEWER)  # not failed now
    with pytest.raises(Conflict):
        case.start_render(REVIEWER)  # not approved


def test_the_release_is_only_from_rendering() -> None:
    case = _case()
    with pytest.raises(Conflict):
        case.released("b" * 64, "c" * 64, T0)
    case.detected(VideoFacts("video/a.mp4", 320, 240, "25", 250), [], {})
    assert case.state is PublicationState.PROPOSED and case.job_state is PublicationState.DETECTING
    case.state = PublicationState.APPROVED  # (the approval's checks are tested elsewhere)
    case.start_render(REVIEWER)
    assert case.state is PublicationState.RENDERING and case.job is not None
    assert case.job.stage is JobStage.RENDER and case.job.attempt == 0
    case.released("b" * 64, "c" * 64, T0)
    assert case.state is PublicationState.RELEASED  # type: ignore[comparison-overlap]


class _Clock:
    def now(self) -> datetime:
        return T0


class _Store:
    def __init__(self) -> None:
        self.writes: list[int] = []

    def update_if(self, case: PublicationCase, state: PublicationState, attempt: int) -> bool:
        assert case.job is not None
        self.writes.append(case.job.done)
        return True


class _Service:
    def __init__(self) -> None:
        self.store, self.clock = _Store(), _Clock()


@pytest.mark.parametrize(
    ("seconds_a_frame", "frames_between"),
    [(0.01, 1000), (1.0, 30), (1 / 1024, 1024)],  # 1 % steps, every 30 s, once a second
)
def test_progress_is_written_at_most_once_a_second_and_per_1_percent_or_30_s(
    seconds_a_frame: float, frames_between: int
) -> None:
    service, total = _Service(), 100_000
    ticks = iter(i * seconds_a_frame for i in range(total + 2))
    jobs = PublicationJobs(cast(PublicationService, service), monotonic=lambda: next(ticks))
    case = _case()
    assert case.job is not None
    case.job.begin(T0)
    report = jobs._progress(case, PublicationState.DETECTING, lambda: True)
    for done in range(1, total + 1):
        report(done, total)
    gaps = {b - a for a, b in itertools.pairwise([0, *service.store.writes])}
    assert gaps == {frames_between}, sorted(gaps)
