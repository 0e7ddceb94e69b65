"""A session's segment video: the sealed file as it is, or a cut that is made for one request,
discarded after it is sent, and never left behind when the cut fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custos.domain.recording import Segment
from custos.domain.users import SYSTEM, Principal
from custos.services.segment_media import SegmentMediaService

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class FakeCutter:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.cuts: list[tuple[Path, Path, float | None, float | None]] = []

    def cut(self, source: Path, dst: Path, from_s: float | None, to_s: float | None) -> None:
        self.cuts.append((source, dst, from_s, to_s))
        if self.fails:
            raise TimeoutError("ffmpeg took over 120 s and was killed")
        dst.write_bytes(b"cut " + source.read_bytes())


def _segment(path: Path) -> Segment:
    end = START + timedelta(seconds=10)
    return Segment(7, 1, "run", 0, path.name, START, end, 10.0, 6, "0" * 64, "h264", 320, 240, end)


def _service(
    tmp_path: Path, cutter: FakeCutter, cut: tuple[float | None, float | None]
) -> tuple[SegmentMediaService, Path]:
    sealed = tmp_path / "media" / "seg.mp4"
    sealed.parent.mkdir()
    sealed.write_bytes(b"sealed")

    def locate(
        actor: Principal, session_id: int, segment_id: int
    ) -> tuple[Segment, Path, float | None, float | None]:
        return _segment(sealed), sealed, cut[0], cut[1]

    return SegmentMediaService(locate, cutter, tmp_path / "cuts"), sealed


def test_a_segment_inside_the_range_is_sent_as_sealed_and_never_removed(tmp_path: Path) -> None:
    cutter = FakeCutter()
    service, sealed = _service(tmp_path, cutter, (None, None))
    media = service.media(SYSTEM, 1, 7)
    assert media.path == sealed and not media.scratch and cutter.cuts == []
    media.discard()
    assert sealed.read_bytes() == b"sealed"


def test_a_segment_the_range_ends_inside_is_cut_and_the_cut_is_discarded(tmp_path: Path) -> None:
    cutter = FakeCutter()
    service, sealed = _service(tmp_path, cutter, (None, 5.0))
    media = service.media(SYSTEM, 1, 7)
    assert media.scratch and media.path.read_bytes() == b"cut sealed"
    assert media.path.is_relative_to(tmp_path / "cuts")
    assert cutter.cuts == [(sealed, media.path, None, 5.0)]
    media.discard()
    assert list((tmp_path / "cuts").iterdir()) == []
    assert sealed.read_bytes() == b"sealed"


def test_a_failed_cut_leaves_nothing_behind(tmp_path: Path) -> None:
    service, sealed = _service(tmp_path, FakeCutter(fails=True), (2.0, 5.0))
    with pytest.raises(TimeoutError):
        service.media(SYSTEM, 1, 7)
    assert list((tmp_path / "cuts").iterdir()) == []
    assert sealed.read_bytes() == b"sealed"
