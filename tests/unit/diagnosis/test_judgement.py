"""K faulty samples in a row raise a fault, K good ones clear it; thresholds are bounded; a
reference is approved by a second person only."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from custos.domain.diagnosis import (
    Counter,
    Fault,
    FrameMetrics,
    Thresholds,
    Verdict,
    advance,
    baseline_of,
    judge,
)
from custos.domain.diagnosis_state import Reference, ReferenceState, check_approval
from custos.domain.errors import ValidationFailed

ALL = frozenset(Fault)
GOOD = FrameMetrics(
    mean_luma=120, luma_std=40, dark_fraction=0.0, bright_fraction=0.0, uniform_fraction=0.2,
    blue_screen=False, colour_bars=False, sharpness=0.5, low_texture_fraction=0.1, noise=1.5,
    mean_a=2.0, mean_b=4.0, freeze_diff=5.0, scene_shift=0.0, scene_similarity=0.95,
)  # fmt: skip


def _run(verdicts: list[Verdict], t: Thresholds) -> list[tuple[frozenset[Fault], frozenset[Fault]]]:
    counters: dict[Fault, Counter] = {}
    out = []
    for v in verdicts:
        step = advance(counters, v, t)
        counters = step.counters
        out.append((step.raise_, step.clear))
    return out


def test_a_fault_raises_after_k_in_a_row_and_clears_after_k_good() -> None:
    blur, good = Verdict(frozenset({Fault.BLUR}), ALL), Verdict(frozenset(), ALL)
    steps = _run([blur, blur, good, blur, blur, blur, blur, good, good, good], Thresholds())
    raised = [i for i, (r, _) in enumerate(steps) if Fault.BLUR in r]
    cleared = [i for i, (_, c) in enumerate(steps) if Fault.BLUR in c]
    assert raised == [5]  # the good sample at 2 restarted the count
    assert cleared == [9]


def test_a_sample_that_cannot_judge_a_fault_keeps_its_count() -> None:
    blur = Verdict(frozenset({Fault.BLUR}), ALL)
    lost = Verdict(frozenset({Fault.SIGNAL_LOSS}), frozenset({Fault.SIGNAL_LOSS}))
    steps = _run([blur, blur, lost, blur], Thresholds())
    assert Fault.BLUR in steps[3][0]


def test_k_is_a_per_camera_threshold() -> None:
    blur = Verdict(frozenset({Fault.BLUR}), ALL)
    t = Thresholds().with_overrides({"k_raise": 1})
    assert Fault.BLUR in _run([blur], t)[0][0]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"k_raise": 0}, "k_raise"), ({"blur_ratio": 1.5}, "blur_ratio"),
     ({"wobble": 1}, "wobble"), ({"k_clear": 2.5}, "k_clear")],
)  # fmt: skip
def test_a_threshold_out_of_range_is_refused_naming_it(
    overrides: dict[str, float], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        Thresholds().with_overrides(overrides)
    assert [e.field for e in refused.value.errors] == [field]


def test_signal_loss_hides_every_other_fault() -> None:
    black = FrameMetrics(**{**GOOD.as_dict(), "uniform_fraction": 1.0, "mean_luma": 0.0,
                            "freeze_diff": 0.0, "scene_similarity": 0.0})  # fmt: skip
    verdict = judge(black, Thresholds(), baseline_of([GOOD]))
    assert verdict.faulty == verdict.judged == {Fault.SIGNAL_LOSS}


def test_blur_is_judged_against_the_cameras_own_baseline() -> None:
    soft_camera = FrameMetrics(**{**GOOD.as_dict(), "sharpness": 0.1})
    assert judge(soft_camera, Thresholds(), baseline_of([soft_camera])).faulty == set()
    assert judge(soft_camera, Thresholds(), baseline_of([GOOD])).faulty == {Fault.BLUR}


def _proposed(by: str) -> Reference:
    at = datetime(2026, 11, 20, 2, tzinfo=UTC)
    return Reference(1, 7, "references/7-x.png", "0" * 64, ReferenceState.PROPOSED, "moved", by, at)


def test_the_proposer_cannot_approve_their_own_reference() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_approval(_proposed("wang"), "wang")
    [error] = refused.value.errors
    assert error.field == "approved_by" and "four eyes" in error.reason
    check_approval(_proposed("wang"), "li")  # a second person may


def test_flicker_that_lasts_is_noise_and_flicker_once_when_soft_is_judged_later() -> None:
    base = baseline_of([dataclasses.replace(GOOD, flicker=0.3)])
    onset = dataclasses.replace(GOOD, sharpness=0.05, flicker=5.0)  # went soft: all changed
    verdict = judge(onset, Thresholds(), base, previous=dataclasses.replace(GOOD, flicker=0.3))
    assert Fault.BLUR not in verdict.judged and Fault.NOISE not in verdict.judged
    still_soft = dataclasses.replace(onset, flicker=0.2)
    assert judge(still_soft, Thresholds(), base, previous=onset).faulty == {Fault.BLUR}
    mush = dataclasses.replace(onset, sharpness=0.1, flicker=4.5)  # noise the encoder smeared
    assert judge(mush, Thresholds(), base, previous=onset).faulty == {Fault.NOISE}
