"""Video quality diagnosis: the judgement of one sampled frame, and K samples in a row.

The metrics of a frame (:class:`FrameMetrics`) are measured by an adapter (NumPy/OpenCV); this
module only judges them, so it knows no image library. Some faults are judged against fixed
limits (signal loss, too dark, too bright, freeze), the others against the camera's own
*baseline* — the median of its recent fault-free samples — because a sharp, clean picture of a
foggy car park and of a lit corridor measure very differently: blur (sharpness fell to a
fraction of the baseline), occlusion (a large low-texture region appeared), colour cast (the
mean colour moved), noise (the noise estimate rose). Scene change is judged against the
camera's accepted reference snapshot (``scene_shift``: how far the picture moved, as a fraction
of its width; ``scene_similarity``: how alike the edge maps are).

A fault raises an alarm after ``k_raise`` faulty samples in a row and clears after ``k_clear``
good ones. A fault that cannot be judged on a sample (no picture: signal loss hides every
other fault; a picture too dark or too bright hides blur, noise, cast, occlusion and scene)
leaves its counters as they were.

Scene change breaks "do not change a camera's location or function" (Beijing art. 12(4),
Chongqing art. 20(7), Xi'an art. 22(7), Shaanxi art. 16(3), Liaoning art. 14(5)): the rule
packs' ``operating.keep_location_and_function``, cited in the alarm.
"""

from __future__ import annotations

import dataclasses
import enum
import statistics
from dataclasses import dataclass, field
from typing import Any

from custos.domain.errors import FieldError, ValidationFailed


class Fault(enum.StrEnum):
    SIGNAL_LOSS = "signal_loss"
    BLUR = "blur"
    OCCLUSION = "occlusion"
    FREEZE = "freeze"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    COLOUR_CAST = "colour_cast"
    NOISE = "noise"
    SCENE_CHANGE = "scene_change"


@dataclass(frozen=True)
class FrameMetrics:
    """What an adapter measured on one decoded frame (luma on 0..255).

    ``freeze_diff`` is None when there is no previous sample, the ``scene_*`` fields when the
    camera has no accepted reference."""

    mean_luma: float
    luma_std: float
    dark_fraction: float  # share of pixels with luma < 20
    bright_fraction: float  # share of pixels with luma > 245
    uniform_fraction: float  # share of blocks with (almost) no variation
    blue_screen: bool  # a uniform, saturated blue picture (a "no video" screen)
    colour_bars: bool  # a test pattern of vertical bars
    sharpness: float  # Laplacian energy over luma variance, median of the textured blocks
    low_texture_fraction: float  # the largest connected low-texture region, share of the frame
    noise: float  # estimated noise sigma
    mean_a: float  # mean chroma (CIELAB a*, b*; 0 = neutral)
    mean_b: float
    freeze_diff: float | None = None  # change of the most changed blocks since the last sample
    flicker: float | None = None  # median change of all blocks since the last sample (noise)
    scene_shift: float | None = None  # displacement from the reference, share of the width
    scene_similarity: float | None = None  # edge-map correlation with the reference, -1..1

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> FrameMetrics:
        names = {f.name for f in dataclasses.fields(FrameMetrics)}
        return FrameMetrics(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Thresholds:
    """When a sample is faulty. Defaults are tuned on the validation set (bench/)."""

    k_raise: int = 3
    k_clear: int = 3
    uniform_fraction: float = 0.97  # signal loss: almost every block flat
    dark_luma: float = 40.0  # too dark: mean luma below …
    dark_ratio: float = 0.5  # … or below this share of the baseline's
    bright_luma: float = 230.0  # too bright: mean luma above …
    bright_fraction: float = 0.5  # … or this share of pixels saturated …
    bright_ratio: float = 1.45  # … or above this multiple of the baseline's
    blur_ratio: float = 0.35  # blur: sharpness below this share of the baseline
    occlusion_increase: float = 0.2  # occlusion: low-texture region grew by this share
    freeze_diff: float = 4.0  # freeze: the most changed blocks changed less (0..255)
    cast_shift: float = 4.0  # colour cast: mean a*b* moved this far from the baseline
    noise_ratio: float = 1.8  # noise: sigma (or flicker) above this multiple of the baseline …
    noise_increase: float = 2.5  # … and sigma at least this much higher
    flicker_increase: float = 1.5  # … or flicker at least this much higher
    scene_shift: float = 0.04  # scene change: moved by this share of the width …
    scene_similarity: float = 0.5  # … or edge maps less alike than this

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def with_overrides(self, overrides: dict[str, Any]) -> Thresholds:
        unknown = [k for k in overrides if k not in LIMITS]
        if unknown:
            raise ValidationFailed(
                [FieldError(k, "is not a diagnosis threshold") for k in sorted(unknown)]
            )
        merged = dataclasses.replace(self, **overrides)
        if errors := check_thresholds(merged):
            raise ValidationFailed(errors)
        return merged


#: The accepted range of every threshold (inclusive).
LIMITS: dict[str, tuple[float, float]] = {
    "k_raise": (1, 100),
    "k_clear": (1, 100),
    "uniform_fraction": (0.5, 1.0),
    "dark_luma": (0.0, 128.0),
    "dark_ratio": (0.05, 0.95),
    "bright_ratio": (1.05, 5.0),
    "flicker_increase": (0.1, 50.0),
    "bright_luma": (128.0, 255.0),
    "bright_fraction": (0.05, 1.0),
    "blur_ratio": (0.01, 0.99),
    "occlusion_increase": (0.05, 0.95),
    "freeze_diff": (0.0, 50.0),
    "cast_shift": (1.0, 100.0),
    "noise_ratio": (1.0, 20.0),
    "noise_increase": (0.0, 50.0),
    "scene_shift": (0.005, 1.0),
    "scene_similarity": (-1.0, 1.0),
}


def check_thresholds(t: Thresholds) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, (low, high) in LIMITS.items():
        value = getattr(t, name)
        if name.startswith("k_") and not isinstance(value, int):
            errors.append(FieldError(name, "must be a whole number of samples"))
        elif not low <= value <= high:
            errors.append(FieldError(name, f"must be between {low:g} and {high:g}"))
    return errors


BASELINE_SAMPLES = 20


@dataclass(frozen=True)
class Baseline:
    """The camera's own picture when all is well: medians of its recent fault-free samples."""

    sharpness: float
    low_texture_fraction: float
    noise: float
    mean_a: float
    mean_b: float
    mean_luma: float = 128.0
    flicker: float | None = None


def baseline_of(history: list[FrameMetrics]) -> Baseline | None:
    if not history:
        return None
    flickers = [m.flicker for m in history if m.flicker is not None]
    return Baseline(
        mean_luma=statistics.median(m.mean_luma for m in history),
        flicker=statistics.median(flickers) if flickers else None,
        sharpness=statistics.median(m.sharpness for m in history),
        low_texture_fraction=statistics.median(m.low_texture_fraction for m in history),
        noise=statistics.median(m.noise for m in history),
        mean_a=statistics.median(m.mean_a for m in history),
        mean_b=statistics.median(m.mean_b for m in history),
    )


@dataclass(frozen=True)
class Verdict:
    """One sample judged: the faults seen, and the faults that could be judged at all."""

    faulty: frozenset[Fault]
    judged: frozenset[Fault]


def judge(
    m: FrameMetrics, t: Thresholds, base: Baseline | None, previous: FrameMetrics | None = None
) -> Verdict:
    """Judge one sample; ``previous`` is the camera's sample before it (flicker that lasts is
    noise; flicker once, when the picture went soft, is the change itself)."""
    if m.uniform_fraction >= t.uniform_fraction or m.blue_screen or m.colour_bars:
        return Verdict(frozenset({Fault.SIGNAL_LOSS}), frozenset({Fault.SIGNAL_LOSS}))
    faulty: set[Fault] = set()
    judged = {Fault.SIGNAL_LOSS, Fault.TOO_DARK, Fault.TOO_BRIGHT}
    # a cover darkens or lightens the mean too: relative to the baseline, only when uncovered
    covered = base is not None and _covered(m, t, base)
    relative = base is not None and not covered
    if m.mean_luma < t.dark_luma or (
        relative and base is not None and m.mean_luma < base.mean_luma * t.dark_ratio
    ):
        faulty.add(Fault.TOO_DARK)
    elif (
        m.mean_luma > t.bright_luma
        or m.bright_fraction > t.bright_fraction
        or (relative and base is not None and m.mean_luma > base.mean_luma * t.bright_ratio)
    ):
        faulty.add(Fault.TOO_BRIGHT)
    if m.freeze_diff is not None:
        judged.add(Fault.FREEZE)
        if m.freeze_diff < t.freeze_diff:
            faulty.add(Fault.FREEZE)
    if faulty & {Fault.TOO_DARK, Fault.TOO_BRIGHT}:
        return Verdict(frozenset(faulty), frozenset(judged))
    against: set[Fault] = set()
    if base is not None:
        against, unjudged = _against_baseline(m, t, base, previous)
        judged |= BASELINE_FAULTS - unjudged
    if m.scene_shift is not None or m.scene_similarity is not None:
        judged.add(Fault.SCENE_CHANGE)
        moved = m.scene_shift is not None and m.scene_shift > t.scene_shift
        if moved or (Fault.OCCLUSION not in against and _scene_changed(m, t)):
            # another view: what the baseline says of the old one no longer applies
            return Verdict(
                frozenset(faulty | {Fault.SCENE_CHANGE}), frozenset(judged - BASELINE_FAULTS)
            )
    return Verdict(frozenset(faulty | against), frozenset(judged))


BASELINE_FAULTS = frozenset({Fault.BLUR, Fault.OCCLUSION, Fault.COLOUR_CAST, Fault.NOISE})


def _against_baseline(
    m: FrameMetrics, t: Thresholds, base: Baseline, previous: FrameMetrics | None
) -> tuple[set[Fault], set[Fault]]:
    """The faults judged against the baseline, and those that cannot be judged on this sample."""
    faulty: set[Fault] = set()
    spatial, flicker = _noisy(m, t, base)
    soft = m.sharpness < base.sharpness * t.blur_ratio
    lasting = previous is not None and _noisy(previous, t, base)[1]
    if spatial or (flicker and (lasting or not soft)):
        faulty.add(Fault.NOISE)
    elif soft and flicker:
        # the first soft sample differs everywhere from the last sharp one, as noise does
        # between samples: neither is judged until the next sample tells them apart (noise
        # flickers again, a blurred picture does not)
        return faulty, {Fault.BLUR, Fault.NOISE}
    elif soft:
        faulty.add(Fault.BLUR)
    if not faulty and _covered(m, t, base):  # blur and noise flatten the picture too
        faulty.add(Fault.OCCLUSION)
    shift = ((m.mean_a - base.mean_a) ** 2 + (m.mean_b - base.mean_b) ** 2) ** 0.5
    if not faulty and shift > t.cast_shift:  # a cover has its own colour; blur mixes colours
        faulty.add(Fault.COLOUR_CAST)
    return faulty, set()


def _covered(m: FrameMetrics, t: Thresholds, base: Baseline) -> bool:
    return m.low_texture_fraction > base.low_texture_fraction + t.occlusion_increase


def _noisy(m: FrameMetrics, t: Thresholds, base: Baseline) -> tuple[bool, bool]:
    """Noise in the picture (sigma), and flicker between samples: heavy noise the encoder
    could not keep comes out as every block changing, not as a noisy picture."""
    spatial = m.noise > base.noise * t.noise_ratio and m.noise > base.noise + t.noise_increase
    if m.flicker is None or base.flicker is None:
        return spatial, False
    flicker = (
        m.flicker > base.flicker * t.noise_ratio and m.flicker > base.flicker + t.flicker_increase
    )
    return spatial, flicker


def _scene_changed(m: FrameMetrics, t: Thresholds) -> bool:
    if m.scene_shift is not None and m.scene_shift > t.scene_shift:
        return True
    return m.scene_similarity is not None and m.scene_similarity < t.scene_similarity


@dataclass(frozen=True)
class Counter:
    """One fault of one camera: faulty and good samples in a row, and whether it is raised."""

    bad: int = 0
    good: int = 0
    raised: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"bad": self.bad, "good": self.good, "raised": self.raised}


@dataclass(frozen=True)
class Step:
    """What one sample changed: the counters after it, and what to raise and clear."""

    counters: dict[Fault, Counter]
    raise_: frozenset[Fault] = field(default_factory=frozenset)
    clear: frozenset[Fault] = field(default_factory=frozenset)


def advance(counters: dict[Fault, Counter], verdict: Verdict, t: Thresholds) -> Step:
    """Count the sample in; a fault raises at ``k_raise`` bad in a row, clears at ``k_clear``
    good in a row. A fault not judged on this sample keeps its counter."""
    after: dict[Fault, Counter] = {}
    raise_: set[Fault] = set()
    clear: set[Fault] = set()
    for fault in Fault:
        c = counters.get(fault, Counter())
        if fault not in verdict.judged:
            after[fault] = c
        elif fault in verdict.faulty:
            c = Counter(c.bad + 1, 0, c.raised)
            if not c.raised and c.bad >= t.k_raise:
                c = dataclasses.replace(c, raised=True)
                raise_.add(fault)
            after[fault] = c
        else:
            c = Counter(0, c.good + 1, c.raised)
            if c.raised and c.good >= t.k_clear:
                c = dataclasses.replace(c, raised=False)
                clear.add(fault)
            after[fault] = c
    return Step(after, frozenset(raise_), frozenset(clear))


def keeps_baseline(verdict: Verdict, counters: dict[Fault, Counter]) -> bool:
    """Whether a sample may join the baseline: nothing faulty on it and nothing raised."""
    return not verdict.faulty and not any(c.raised for c in counters.values())
