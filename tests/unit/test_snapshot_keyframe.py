"""The snapshot's frame: the newest keyframe of an fMP4 file, found from its box headers and last
fragments. A file of one fragment per frame (a keyframe every two seconds) makes the search go
back past the fragments without one; a file without fragments yet has none. Real ffmpeg files,
decoded with the real PyAV adapter and compared with every keyframe decoded independently."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from custos.adapters.media.keyframe_jpeg import newest_keyframe_jpeg
from custos.services.snapshot import newest_keyframe


def _clip(path: Path, movflags: str, seconds: int = 3) -> Path:
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is missing: run scripts/setup")
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=25:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p",
            "-movflags", movflags, str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def _keyframes(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as f:
        stream = f.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        return [frame.to_ndarray(format="bgr24") for frame in f.decode(stream)]


@pytest.fixture(scope="module")
def per_frame(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("snapshot")
    return _clip(d / "per-frame.mp4", "+frag_every_frame+empty_moov+default_base_moof")


def test_fragments_without_a_keyframe_are_passed_back_to_the_newest_one(per_frame: Path) -> None:
    grab = newest_keyframe(per_frame, newest_keyframe_jpeg)
    assert grab is not None and (grab.width, grab.height) == (160, 120)
    picture = cv2.imdecode(np.frombuffer(grab.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    keys = _keyframes(per_frame)
    diffs = [float(np.abs(picture.astype(int) - k.astype(int)).mean()) for k in keys]
    assert len(keys) == 2 and diffs[1] * 3 < diffs[0], diffs  # the one at 2 s, not at 0 s
    assert grab.behind_end_s == pytest.approx(1.0, abs=0.05)  # 25 frames after it


def test_a_file_with_its_init_boxes_only_has_no_frame(per_frame: Path, tmp_path: Path) -> None:
    data = per_frame.read_bytes()
    moov = data.index(b"moov") - 4
    size = int.from_bytes(data[moov : moov + 4], "big")
    begun = tmp_path / "begun.mp4"
    begun.write_bytes(data[: moov + size] + data[moov + size : moov + size + 100])  # a torn moof
    assert newest_keyframe(begun, newest_keyframe_jpeg) is None
    assert newest_keyframe(tmp_path / "gone.mp4", newest_keyframe_jpeg) is None
