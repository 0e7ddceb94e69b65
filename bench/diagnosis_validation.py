"""Validation of video quality diagnosis on a labelled set built with FFmpeg filters.

    .venv/bin/python bench/diagnosis_validation.py [--work DIR] [--jobs 2]

Base clips (10 s, 640x360, 25 fps, a keyframe a second, a burnt-in running clock like a real
camera's OSD):

- ``demo``: the simulated cameras' clip (``testsrc2``, what ``custos demo`` plays);
- ``testsrc``: FFmpeg's older test picture;
- ``pier``, ``board``, ``board2``: real photographs found on this machine (a pier under clouds,
  two photos of an STM32 board), with sensor-like temporal noise and a small moving object;
- ``synth3``, ``synth4``: generated street-like scenes (``tests/unit/diagnosis/scenes.py``).

Each base gets clean variants (including lawful changes of light that must *not* alarm) and
every fault at two or three severities: black / blue / colour bars (signal loss), ``gblur``,
``drawbox`` (occlusion), ``eq`` (dark, bright), ``colorbalance`` (cast), ``noise``, ``crop`` /
``rotate`` / ``hflip`` / pan (scene change), ``loop`` (freeze).

A camera is simulated per variant: the clean clip's keyframes first (its first keyframe becomes
the accepted reference; the fault-free ones fill the baseline), then the variant's keyframes,
each a sample, judged by the domain (``judge``, ``advance``: K = 3 in a row). A fault is
*predicted* for the variant if it is raised during the variant's samples.

Thresholds are tuned (a grid per threshold, best F1 of its fault) on the TRAIN bases only and
evaluated on the TEST bases, which the tuning never saw. Prints precision and recall per fault.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.unit.diagnosis.scenes import scene  # noqa: E402

from custos.adapters.diagnosis.metrics import Frame, measure  # noqa: E402
from custos.domain.diagnosis import (  # noqa: E402
    BASELINE_SAMPLES,
    Fault,
    FrameMetrics,
    Thresholds,
    advance,
    baseline_of,
    judge,
    keeps_baseline,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
PIER = Path(
    "/usr/lib/google-cloud-sdk/platform/google_appengine/google/appengine/tools/java/jetty12/"
    "jetty-home/modules/demo.d/root/images/jetty-pic.png"
)
RUST_ASSETS = Path(
    "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/embedded-book/assets"
)
TRAIN = ("demo", "board", "synth3")
TEST = ("testsrc", "pier", "board2", "synth4")
SECONDS = 10
OSD = (
    f"drawtext=fontfile={FONT}:text='%{{pts\\:hms}}':fontsize=20:fontcolor=white"
    ":box=1:boxcolor=black@0.6:x=10:y=10"
)
LIVE = "noise=alls=4:allf=t,drawbox=x='mod(t*40,600)':y=300:w=24:h=40:color=red@1:t=fill"

# variant name -> (label or None, filter applied to the base picture before the OSD)
VARIANTS: dict[str, tuple[Fault | None, str]] = {
    "clean": (None, "null"),
    "lit_down": (None, "eq=brightness=-0.08:contrast=0.85"),
    "lit_up": (None, "eq=brightness=0.08:contrast=1.1"),
    "black": (Fault.SIGNAL_LOSS, "SOURCE:color=c=black:"),
    "blue": (Fault.SIGNAL_LOSS, "SOURCE:color=c=blue:"),
    "bars": (Fault.SIGNAL_LOSS, "SOURCE:smptebars="),
    "blur6": (Fault.BLUR, "gblur=sigma=6"),
    "blur12": (Fault.BLUR, "gblur=sigma=12"),
    "box40": (Fault.OCCLUSION, "drawbox=x=0:y=0:w=iw*0.7:h=ih*0.6:color=0x505050@1:t=fill"),
    "box60": (
        Fault.OCCLUSION,
        "drawbox=x=iw*0.1:y=ih*0.2:w=iw*0.8:h=ih*0.75:color=0x202020@1:t=fill",
    ),
    "dark1": (Fault.TOO_DARK, "eq=brightness=-0.4:contrast=0.7"),
    "dark2": (Fault.TOO_DARK, "eq=brightness=-0.5"),
    "bright1": (Fault.TOO_BRIGHT, "eq=brightness=0.45:contrast=0.7"),
    "bright2": (Fault.TOO_BRIGHT, "eq=brightness=0.6"),
    "cast_red": (Fault.COLOUR_CAST, "colorbalance=rs=0.4:rm=0.4:rh=0.3:bs=-0.4:bm=-0.4:bh=-0.3"),
    "cast_blue": (Fault.COLOUR_CAST, "colorbalance=rs=-0.3:rm=-0.3:bs=0.3:bm=0.3:bh=0.2"),
    "cast_green": (Fault.COLOUR_CAST, "colorbalance=gs=0.35:gm=0.35:gh=0.2:rm=-0.2:bm=-0.2"),
    "noise25": (Fault.NOISE, "noise=alls=25:allf=t"),
    "noise45": (Fault.NOISE, "noise=alls=45:allf=t"),
    "zoom": (Fault.SCENE_CHANGE, "crop=iw*0.75:ih*0.75,scale=640:360"),
    "rotate": (Fault.SCENE_CHANGE, "rotate=8*PI/180:fillcolor=gray"),
    "hflip": (Fault.SCENE_CHANGE, "hflip"),
    "pan": (Fault.SCENE_CHANGE, "crop=iw*0.8:ih:iw*0.2:0,scale=640:360"),
    "tilt": (Fault.SCENE_CHANGE, "crop=iw:ih*0.8:0:ih*0.2,scale=640:360"),
    "freeze": (Fault.FREEZE, "FREEZE"),
}


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def base_input(base: str, work: Path) -> list[str]:
    """The ffmpeg input arguments of a base picture (before the OSD)."""
    size = "640x360"
    if base == "demo":
        return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25"]
    if base == "testsrc":
        return ["-f", "lavfi", "-i", f"testsrc=size={size}:rate=25"]
    still = {
        "pier": PIER,
        "board": RUST_ASSETS / "f3.jpg",
        "board2": RUST_ASSETS / "verify.jpeg",
    }.get(base)
    if still is None:  # synth3, synth4: made once, before the parallel jobs
        still = work / f"{base}.png"
        if not still.exists():
            cv2.imwrite(str(still), scene(int(base[-1])))
    crop = "crop=540:277:360:0," if base == "pier" else ""
    return ["-loop", "1", "-framerate", "25", "-i", str(still), "-vf-pre", f"{crop}scale=640:360"]


def make_variant(base: str, name: str, work: Path) -> Path:
    out = work / f"{base}-{name}.mp4"
    if out.exists():
        return out
    part = out.with_suffix(".part")
    label, filt = VARIANTS[name]
    inputs = base_input(base, work)
    pre = ""
    if "-vf-pre" in inputs:
        i = inputs.index("-vf-pre")
        pre = inputs[i + 1] + ","
        inputs = inputs[:i]
    live = LIVE + "," if base not in ("demo", "testsrc") else ""
    if filt.startswith("SOURCE:"):
        inputs = ["-f", "lavfi", "-i", f"{filt[7:]}size=640x360:rate=25"]
        chain = OSD
    elif filt == "FREEZE":  # the whole picture, OSD included, stuck on one frame
        chain = (
            f"{pre}{live}{OSD},trim=start_frame=30:end_frame=31,loop=loop=-1:size=1,setpts=N/25/TB"
        )
    else:
        chain = f"{pre}{live}{filt},{OSD}"
    ffmpeg(*inputs, "-t", str(SECONDS), "-vf", chain, "-c:v", "libx264", "-preset", "veryfast",
           "-pix_fmt", "yuv420p", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0",
           "-b:v", "800k", "-t", str(SECONDS), "-f", "mp4", str(part))  # fmt: skip
    part.replace(out)
    del label
    return out


def keyframes(path: Path) -> list[Frame]:
    import av
    import numpy as np

    from custos.adapters.diagnosis.metrics import WIDTH, centre_crop

    frames = []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.codec_context.skip_frame = "NONKEY"
        for f in c.decode(s):
            h = round(f.height * WIDTH / f.width / 2) * 2
            small = np.asarray(f.reformat(width=WIDTH, height=h, format="bgr24").to_ndarray())
            frames.append(Frame(small, centre_crop(np.asarray(f.to_ndarray(format="gray")))))
    return frames


def measure_variant(args: tuple[str, str, str]) -> tuple[str, str, list[dict[str, object]]]:
    """Metrics of the camera's life: clean keyframes, then the variant's (as dicts)."""
    base, name, work_s = args
    work = Path(work_s)
    clean = keyframes(make_variant(base, "clean", work))[:6]
    faulty = keyframes(make_variant(base, name, work))[2:10]
    reference = clean[0].small
    out: list[dict[str, object]] = []
    previous = None
    for frame in clean + faulty:
        out.append(measure(frame, previous, reference).as_dict())
        previous = frame.small
    return base, name, out


def predict(samples: list[FrameMetrics], t: Thresholds, clean_n: int = 6) -> set[Fault]:
    counters: dict[Fault, object] = {}
    history: list[FrameMetrics] = []
    raised: set[Fault] = set()
    for i, m in enumerate(samples):
        verdict = judge(m, t, baseline_of(history), samples[i - 1] if i else None)
        step = advance(counters, verdict, t)  # type: ignore[arg-type]
        counters = step.counters  # type: ignore[assignment]
        if keeps_baseline(verdict, step.counters):
            history = [*history, m][-BASELINE_SAMPLES:]
        if i >= clean_n:
            raised |= step.raise_
        elif step.raise_:
            raised |= {f for f in step.raise_}  # a fault on the clean part counts against it
    return raised


def scores(
    data: Iterable[tuple[str, str, list[FrameMetrics]]], t: Thresholds
) -> dict[str, dict[str, float]]:
    tp = dict.fromkeys(Fault, 0)
    fp = dict.fromkeys(Fault, 0)
    fn = dict.fromkeys(Fault, 0)
    for _base, name, samples in data:
        label = VARIANTS[name][0]
        predicted = predict(samples, t)
        for f in Fault:
            if f in predicted and f == label:
                tp[f] += 1
            elif f in predicted:
                fp[f] += 1
            elif f == label:
                fn[f] += 1
    result = {}
    for f in Fault:
        p = tp[f] / (tp[f] + fp[f]) if tp[f] + fp[f] else 1.0
        r = tp[f] / (tp[f] + fn[f]) if tp[f] + fn[f] else 1.0
        result[f.value] = {"precision": round(p, 3), "recall": round(r, 3), "tp": tp[f],
                           "fp": fp[f], "fn": fn[f]}  # fmt: skip
    return result


GRID: dict[str, tuple[Fault, list[float]]] = {
    "uniform_fraction": (Fault.SIGNAL_LOSS, [0.8, 0.85, 0.9, 0.93, 0.95, 0.97]),
    "dark_luma": (Fault.TOO_DARK, [30, 35, 40, 45, 50, 55]),
    "dark_ratio": (Fault.TOO_DARK, [0.4, 0.45, 0.5, 0.55, 0.6, 0.65]),
    "bright_ratio": (Fault.TOO_BRIGHT, [1.25, 1.3, 1.35, 1.45, 1.55, 1.7]),
    "flicker_increase": (Fault.NOISE, [0.8, 1.0, 1.5, 2.0, 2.5]),
    "bright_luma": (Fault.TOO_BRIGHT, [205, 215, 225, 230, 240]),
    "blur_ratio": (Fault.BLUR, [0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6]),
    "occlusion_increase": (Fault.OCCLUSION, [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]),
    "freeze_diff": (Fault.FREEZE, [1, 2, 3, 4, 6, 8, 12]),
    "cast_shift": (Fault.COLOUR_CAST, [3, 4, 5, 6, 8, 10, 12, 15]),
    "noise_ratio": (Fault.NOISE, [1.2, 1.3, 1.5, 1.8, 2.2, 2.6, 3.0]),
    "noise_increase": (Fault.NOISE, [0.5, 1, 1.5, 2.5, 4]),
    "scene_similarity": (Fault.SCENE_CHANGE, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
    "scene_shift": (Fault.SCENE_CHANGE, [0.02, 0.03, 0.04, 0.06, 0.08]),
}


def _f1_then_fewest_false(
    train: list[tuple[str, str, list[FrameMetrics]]], t: Thresholds, fault: Fault
) -> tuple[float, int]:
    all_scores = scores(train, t)
    p, r = all_scores[fault.value]["precision"], all_scores[fault.value]["recall"]
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f1, -sum(int(v["fp"]) for v in all_scores.values())


def tune(train: list[tuple[str, str, list[FrameMetrics]]]) -> Thresholds:
    """Coordinate search: each threshold in turn, the value with the best F1 of its fault,
    then the fewest false alarms of any fault, then the nearest the default; twice over."""
    t = Thresholds()
    for _ in range(2):
        for name, (fault, grid) in GRID.items():
            ranked = {
                v: (*_f1_then_fewest_false(train, dataclasses.replace(t, **{name: v}), fault),
                    -abs(v - getattr(Thresholds(), name)))
                for v in grid
            }  # fmt: skip
            t = dataclasses.replace(t, **{name: max(grid, key=lambda v: ranked[v])})
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / ".cache" / "diagnosis")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--reuse", action="store_true", help="the metrics of the last run (judging only)"
    )
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    jobs = [(b, n, str(args.work)) for b in TRAIN + TEST for n in VARIANTS]
    for b in TRAIN + TEST:  # the clean clips first, so parallel jobs do not race to make them
        make_variant(b, "clean", args.work)
    cache = args.work / "measured.json"
    if args.reuse and cache.exists():
        measured = json.loads(cache.read_text())
    else:
        with ProcessPoolExecutor(args.jobs) as pool:
            measured = list(pool.map(measure_variant, jobs))
        cache.write_text(json.dumps(measured))
    data = [(b, n, [FrameMetrics.from_dict(m) for m in ms]) for b, n, ms in measured]
    train = [d for d in data if d[0] in TRAIN]
    test = [d for d in data if d[0] in TEST]
    tuned = tune(train)
    report = {
        "bases": {"train": TRAIN, "test": TEST},
        "variants": len(VARIANTS),
        "defaults": Thresholds().as_dict(),
        "tuned": tuned.as_dict(),
        "train_tuned": scores(train, tuned),
        "test_tuned": scores(test, tuned),
        "test_defaults": scores(test, Thresholds()),
    }
    print(f"{'fault':14s} {'test P':>7s} {'test R':>7s}   (tuned on {', '.join(TRAIN)}; "
          f"tested on {', '.join(TEST)})")  # fmt: skip
    for f, s in report["test_tuned"].items():  # type: ignore[union-attr]
        print(
            f"{f:14s} {s['precision']:7.3f} {s['recall']:7.3f}   tp={s['tp']} fp={s['fp']} fn={s['fn']}"
        )
    print("tuned thresholds:", json.dumps(tuned.as_dict()))
    print("test with the shipped defaults:")
    for f, s in report["test_defaults"].items():  # type: ignore[union-attr]
        print(f"  {f:14s} P={s['precision']:.3f} R={s['recall']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
