"""Each fault, applied to a synthetic scene, is the one fault the judgement finds; changes of
light and a little noise are none."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custos.adapters.diagnosis.metrics import frame_of, measure, scale
from custos.domain.diagnosis import Fault, FrameMetrics, Thresholds, baseline_of, judge
from tests.unit.diagnosis import scenes as s
from tests.unit.diagnosis.scenes import Image

REFERENCE = s.scene(1)


def _judge(picture: Image, previous: Image | None = None) -> frozenset[Fault]:
    reference = scale(REFERENCE)
    baseline = [measure(frame_of(s.with_noise(REFERENCE, 1.0, seed)), None, None)
                for seed in range(3)]  # fmt: skip
    # the sample before had someone walking through; a live picture always changes somewhere
    walker = s.person(s.with_noise(REFERENCE, 1.5, 99))
    before = scale(previous if previous is not None else walker)
    m = measure(frame_of(picture), before, reference)
    return judge(m, Thresholds(), baseline_of(baseline)).faulty


CASES: dict[str, tuple[Callable[[], Image], frozenset[Fault]]] = {
    "clean": (lambda: s.with_noise(REFERENCE, 1.5, 5), frozenset()),
    "dimmer light": (lambda: s.brightness(s.with_noise(REFERENCE, 1.5, 5), 0.7, 5), frozenset()),
    "brighter light": (lambda: s.brightness(s.with_noise(REFERENCE, 1.5, 5), 1.2), frozenset()),
    "black": (lambda: s.solid(0, 0, 0), frozenset({Fault.SIGNAL_LOSS})),
    "blue screen": (lambda: s.solid(255, 0, 0), frozenset({Fault.SIGNAL_LOSS})),
    "colour bars": (s.bars, frozenset({Fault.SIGNAL_LOSS})),
    "blur": (lambda: s.blurred(REFERENCE, 4), frozenset({Fault.BLUR})),
    "occlusion": (lambda: s.boxed(s.with_noise(REFERENCE, 1.5, 5), 0.4), frozenset({Fault.OCCLUSION})),
    "too dark": (lambda: s.brightness(REFERENCE, 0.25), frozenset({Fault.TOO_DARK})),
    "too bright": (lambda: s.brightness(REFERENCE, 1.0, 150), frozenset({Fault.TOO_BRIGHT})),
    "colour cast": (lambda: s.cast(s.with_noise(REFERENCE, 1.5, 5), 0.7, 1.0, 1.3), frozenset({Fault.COLOUR_CAST})),
    "noise": (lambda: s.with_noise(REFERENCE, 15), frozenset({Fault.NOISE})),
    "panned": (lambda: s.shifted(s.with_noise(REFERENCE, 1.5, 5), 40), frozenset({Fault.SCENE_CHANGE})),
    "rotated": (lambda: s.rotated(s.with_noise(REFERENCE, 1.5, 5), 6), frozenset({Fault.SCENE_CHANGE})),
    "elsewhere": (lambda: s.scene(2), frozenset({Fault.SCENE_CHANGE})),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_each_fault_is_found_alone(case: str) -> None:
    make, expected = CASES[case]
    assert _judge(make()) == expected


def test_a_picture_identical_to_the_previous_sample_is_frozen() -> None:
    picture = s.with_noise(REFERENCE, 1.5, 5)
    assert _judge(picture, previous=picture) == {Fault.FREEZE}


def test_sharpness_does_not_depend_on_the_light() -> None:
    lit = measure(frame_of(REFERENCE), None, None).sharpness
    dim = measure(frame_of(s.brightness(REFERENCE, 0.5)), None, None).sharpness
    assert dim == pytest.approx(lit, rel=0.15)


def test_without_a_reference_or_previous_sample_scene_and_freeze_are_not_judged() -> None:
    m = measure(frame_of(s.scene(2)), None, None)
    assert m.freeze_diff is None and m.scene_shift is None and m.scene_similarity is None
    verdict = judge(m, Thresholds(), None)
    assert Fault.SCENE_CHANGE not in verdict.judged and Fault.FREEZE not in verdict.judged
    assert isinstance(FrameMetrics.from_dict(m.as_dict()), FrameMetrics)
