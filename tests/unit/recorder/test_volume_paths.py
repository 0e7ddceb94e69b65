"""The path scheme of segments on several volumes: ``<camera>/<run>/<seq>.mp4`` on volume 0 (the
media root, as before volumes existed), ``@vN/<camera>/<run>/<seq>.mp4`` on volume N > 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from custos.adapters.storage.segment_files import (
    QUARANTINE,
    SegmentStore,
    UnknownVolumeError,
    on_volume,
    split_volume,
)
from custos.config import Settings


@pytest.fixture
def store(tmp_path: Path) -> SegmentStore:
    return SegmentStore(tmp_path / "media", [tmp_path / "disk1", tmp_path / "disk2"])


def test_paths_on_the_first_volume_are_unchanged() -> None:
    assert split_volume("7/20250101T000000Z-abcdef/000003.mp4") == (
        0,
        "7/20250101T000000Z-abcdef/000003.mp4",
    )
    assert on_volume(0, "7/r/000003.mp4") == "7/r/000003.mp4"


@pytest.mark.parametrize("n", [1, 2, 12])
def test_paths_on_other_volumes_carry_their_number(n: int) -> None:
    rel = on_volume(n, "7/r/000003.mp4")
    assert rel == f"@v{n}/7/r/000003.mp4"
    assert split_volume(rel) == (n, "7/r/000003.mp4")


@pytest.mark.parametrize(
    "bad", ["@v0/7/r/1.mp4", "@v/7/r/1.mp4", "@vx/7/r/1.mp4", "@v01/7/r/1.mp4", "@v1"]
)
def test_malformed_volume_prefixes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a volume path"):
        split_volume(bad)


def test_absolute_and_relative_are_inverse_on_every_volume(
    store: SegmentStore, tmp_path: Path
) -> None:
    for n, root in enumerate(store.volumes):
        d = store.run_dir(3, "run", volume=n)
        assert d == root / "3" / "run" and d.is_dir()
        rel = store.relative(d / "000000.mp4")
        assert rel == ("3/run/000000.mp4" if n == 0 else f"@v{n}/3/run/000000.mp4")
        assert store.absolute(rel) == d / "000000.mp4"
    assert store.absolute("3/run/000000.mp4") == tmp_path / "media" / "3/run/000000.mp4"
    with pytest.raises(ValueError, match="on no media volume"):
        store.relative(tmp_path / "elsewhere" / "x.mp4")


def test_a_volume_that_is_not_configured_is_unknown_not_missing(store: SegmentStore) -> None:
    assert store.knows("@v2/3/run/000000.mp4")
    assert not store.knows("@v3/3/run/000000.mp4")
    with pytest.raises(UnknownVolumeError):
        store.absolute("@v3/3/run/000000.mp4")
    assert store.size_of("@v3/3/run/000000.mp4") is None


def test_every_volume_is_scanned_and_quarantine_stays_on_its_volume(store: SegmentStore) -> None:
    for n in range(3):
        (store.run_dir(5, f"r{n}", volume=n) / "000000.mp4").write_bytes(b"x" * (n + 1))
    files = list(store.segment_files())
    assert files == ["5/r0/000000.mp4", "@v1/5/r1/000000.mp4", "@v2/5/r2/000000.mp4"]
    assert [store.size_of(f) for f in files] == [1, 2, 3]

    moved = store.quarantine("@v2/5/r2/000000.mp4")
    assert moved == f"@v2/{QUARANTINE}/5/r2/000000.mp4"
    assert (store.volumes[2] / QUARANTINE / "5/r2/000000.mp4").exists()
    assert not (store.volumes[0] / QUARANTINE).exists()
    assert list(store.segment_files()) == files[:2]


def test_the_first_volume_with_room_is_chosen(store: SegmentStore) -> None:
    assert store.volume_with_room(100, free=[50, 150, 500]) == 1
    assert store.volume_with_room(100, free=[100, 0, 0]) == 0
    assert store.volume_with_room(100, free=[99, 99, 99]) is None
    assert store.volume_with_room(0) == 0
    assert len(store.free_by_volume()) == 3


def test_volumes_must_not_overlap(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="overlap"):
        SegmentStore(tmp_path / "media", [tmp_path / "media" / "more"])
    with pytest.raises(ValueError, match="overlap"):
        SegmentStore(tmp_path / "media", [tmp_path / "d1", tmp_path / "d1"])


def test_a_reordered_setting_is_caught_by_the_volume_markers(tmp_path: Path) -> None:
    SegmentStore(tmp_path / "media", [tmp_path / "d1", tmp_path / "d2"]).claim_volumes()
    SegmentStore(tmp_path / "media", [tmp_path / "d1", tmp_path / "d2"]).claim_volumes()
    SegmentStore(
        tmp_path / "media", [tmp_path / "d1", tmp_path / "d2", tmp_path / "d3"]
    ).claim_volumes()
    with pytest.raises(ValueError, match="CUSTOS_MEDIA_VOLUMES"):
        SegmentStore(tmp_path / "media", [tmp_path / "d2", tmp_path / "d1"]).claim_volumes()


def test_the_setting_is_a_comma_separated_list_after_the_media_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CUSTOS_MEDIA_VOLUMES", "/mnt/a/custos, /mnt/b/custos,")
    s = Settings(data_dir=tmp_path)
    assert s.resolved_media_volumes() == [
        tmp_path / "media",
        Path("/mnt/a/custos"),
        Path("/mnt/b/custos"),
    ]
    monkeypatch.delenv("CUSTOS_MEDIA_VOLUMES")
    assert Settings(data_dir=tmp_path).resolved_media_volumes() == [tmp_path / "media"]
