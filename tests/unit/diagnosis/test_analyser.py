"""The analyser decodes one keyframe of a real segment file, keeps it as the camera's latest
sample, and uses a reference only while its file still has the SHA-256 the database holds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from custos.adapters.diagnosis.analyser import FileFrameAnalyser, keyframes
from custos.services.diagnosis import sample_offsets


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is missing: run scripts/setup")
    out = tmp_path_factory.mktemp("seg") / "000000.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=640x360:rate=25:duration=1", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_a_keyframe_is_measured_and_a_tampered_reference_is_not_used(
    segment: Path, tmp_path: Path
) -> None:
    analyser = FileFrameAnalyser(tmp_path / "diagnosis", lambda relative: segment.parent / relative)
    [first] = analyser.analyse(7, segment.name, None)
    assert first.freeze_diff is None and first.scene_similarity is None
    kept = analyser.keep_reference(7)
    assert kept is not None
    path, sha = kept
    [again] = analyser.analyse(7, segment.name, kept)
    assert again.freeze_diff == 0.0  # the same keyframe: frozen
    assert again.scene_similarity == pytest.approx(1.0) and again.scene_shift == pytest.approx(
        0, abs=1e-3
    )
    assert analyser.image(path, sha) == (tmp_path / "diagnosis" / path).read_bytes()

    (tmp_path / "diagnosis" / path).chmod(0o644)
    (tmp_path / "diagnosis" / path).write_bytes(b"not the reference")
    assert analyser.image(path, sha) is None
    [unchecked] = analyser.analyse(7, segment.name, kept)
    assert unchecked.scene_similarity is None
    assert analyser.image("../../etc/passwd", sha) is None


def test_a_file_that_is_no_video_gives_no_sample(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    analyser = FileFrameAnalyser(tmp_path / "diagnosis", lambda relative: tmp_path / relative)
    assert analyser.analyse(1, "bad.mp4", None) == []


def _clip(out: Path, seconds: int, gop: int) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size=320x180:rate=25:duration={seconds}", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", str(gop), "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_one_keyframe_per_offset_and_never_the_same_twice(tmp_path: Path) -> None:
    minute = _clip(tmp_path / "minute.mp4", 60, 50)  # a keyframe every 2 s
    assert len(keyframes(minute, sample_offsets(60.0, 30.0))) == 2  # at 0 s and 30 s
    analyser = FileFrameAnalyser(tmp_path / "diagnosis", lambda relative: tmp_path / relative)
    two = analyser.analyse(3, "minute.mp4", None, [0.0, 30.0])
    assert len(two) == 2 and two[0].freeze_diff is None
    assert two[1].freeze_diff is not None and two[1].freeze_diff > 0  # 30 s later: it moved
    short = _clip(tmp_path / "short.mp4", 4, 50)  # keyframes at 0 s and 2 s only
    assert len(keyframes(short, [0.0, 0.5, 1.0])) == 2  # the 2 s keyframe is taken once
    single = _clip(tmp_path / "single.mp4", 60, 100000)  # one keyframe in the minute
    assert len(keyframes(single, sample_offsets(60.0, 30.0))) == 1
