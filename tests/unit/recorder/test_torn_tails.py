"""The box walker on crafted fragmented MP4 files, and cutting a torn tail aside before sealing."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from custos.adapters.media.fmp4 import init_and_last_fragments, scan
from custos.adapters.storage.segment_files import SegmentStore
from tests.unit.recorder.boxes import INIT, box, fragment


def write(tmp_path: Path, data: bytes, name: str = "000000.mp4") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_whole_file_is_not_torn(tmp_path: Path) -> None:
    data = INIT + fragment(1) + fragment(2) + box(b"mfra", b"\0" * 8)
    found = scan(write(tmp_path, data))
    assert not found.torn and found.complete == len(data) and found.has_media
    assert found.init_end == len(INIT) and len(found.fragments) == 2


@pytest.mark.parametrize("cut", [1, 7, 8, 20, 31, 32, 40, 100, 130])
def test_a_fragment_cut_anywhere_is_torn_back_to_the_one_before(tmp_path: Path, cut: int) -> None:
    whole = INIT + fragment(1) + fragment(2)
    third = fragment(3)
    found = scan(write(tmp_path, whole + third[:cut]))
    assert found.torn and found.complete == len(whole) and found.torn_bytes == cut
    assert len(found.fragments) == 2


def test_a_moof_without_its_mdat_is_torn(tmp_path: Path) -> None:
    whole = INIT + fragment(1)
    moof_only = box(b"moof", b"\3" * 24)
    found = scan(write(tmp_path, whole + moof_only))
    assert found.complete == len(whole) and found.torn_bytes == len(moof_only)


def test_a_box_whose_declared_size_runs_past_the_end_is_torn(tmp_path: Path) -> None:
    whole = INIT + fragment(1)
    liar = struct.pack(">I4s", 10_000, b"moof") + b"\0" * 50
    large_liar = struct.pack(">I4sQ", 1, b"mdat", 2**40)
    for tail in (liar, large_liar, struct.pack(">I4s", 0, b"mdat") + b"\0" * 9):
        found = scan(write(tmp_path, whole + tail))
        assert found.complete == len(whole) and found.torn_bytes == len(tail)


def test_large_size_boxes_are_walked(tmp_path: Path) -> None:
    data = INIT + box(b"moof", b"\1" * 24, large=True) + box(b"mdat", b"\2" * 64, large=True)
    found = scan(write(tmp_path, data))
    assert not found.torn and len(found.fragments) == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        INIT[:20],  # the init part itself torn
        INIT,  # init only
        INIT + fragment(1)[:50],  # the first fragment torn
        box(b"moov", b"\1" * 40) + fragment(1),  # not an MP4 that starts with ftyp
    ],
)
def test_a_file_without_a_complete_fragment_has_no_media(tmp_path: Path, data: bytes) -> None:
    assert not scan(write(tmp_path, data)).has_media


def test_the_tail_sample_is_the_init_part_and_the_last_fragment(tmp_path: Path) -> None:
    path = write(tmp_path, INIT + fragment(1) + fragment(2) + fragment(3)[:40])
    assert init_and_last_fragments(path) == INIT + fragment(2)
    assert init_and_last_fragments(write(tmp_path, INIT, "b.mp4")) == b""


def test_cutting_keeps_the_torn_bytes_in_quarantine(tmp_path: Path) -> None:
    store = SegmentStore(tmp_path / "media", [tmp_path / "disk1"])
    whole, torn = INIT + fragment(1), fragment(2)[:77]
    for volume in (0, 1):
        path = store.run_dir(7, "run", volume) / "000003.mp4"
        path.write_bytes(whole + torn)
        path.chmod(0o444)  # sealed by a recorder that died before its row
        kept = store.cut_tail(path, len(whole))
        assert path.read_bytes() == whole
        assert kept == store.relative(store.volumes[volume] / "quarantine/7/run/000003.mp4.torn")
        assert store.absolute(kept).read_bytes() == torn
        assert kept not in set(store.segment_files())
        again = store.cut_tail(path, len(whole))  # kept bytes are never overwritten
        assert again == kept + ".1" and store.absolute(kept).read_bytes() == torn
