"""``custos check --hash`` with an object the store lists but cannot read (every volume server
holding it down): reported as unreadable, the check not clean, no traceback
(docs/design/storage.md, "Replicated")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from custos.domain.clock import ManualClock
from custos.domain.recording import Segment
from custos.services.offload import (
    ObjectUnreadableError,
    OffloadService,
    SegmentObject,
)

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Info:
    key: str
    bytes: int
    sha256: str | None
    version_id: str | None = None
    retain_until: datetime | None = None


class Store:
    def __init__(self, readable: set[str]) -> None:
        self.readable = readable

    def key_for(self, relative: str) -> str:
        return f"segments/{relative}"

    def stat(self, key: str, version_id: str | None = None) -> Info:
        return Info(key, 10, "a" * 64)

    def hash_of(self, key: str, version_id: str | None = None) -> str:
        if key not in self.readable:
            raise ObjectUnreadableError(f"object {key} cannot be read: 500")
        return "a" * 64

    def list_keys(self) -> list[str]:
        return [self.key_for("1/r/000000.mp4"), self.key_for("1/r/000001.mp4")]


class Records:
    def find(self) -> list[SegmentObject]:
        return [SegmentObject(i, f"segments/1/r/00000{i}.mp4", "a" * 64, 10, None, NOW)
                for i in (0, 1)]  # fmt: skip


class Uow:
    segment_objects = Records()

    def __enter__(self) -> Uow:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None


def segment(i: int) -> Segment:
    return Segment(i, 1, "r", i, f"1/r/00000{i}.mp4", NOW, NOW, 1.0, 10, "a" * 64, "h264",
                   None, None, NOW)  # fmt: skip


def test_an_object_whose_bytes_cannot_be_read_is_reported_unreadable_not_clean() -> None:
    store = Store(readable={"segments/1/r/000000.mp4"})
    service = OffloadService(
        cast(Any, Uow), cast(Any, store), ManualClock(NOW), lambda r: Path(r), Path("/nowhere")
    )
    quick = service.check([segment(0), segment(1)])
    assert quick.clean  # sizes and metadata agree: only reading the bytes finds it
    full = service.check([segment(0), segment(1)], rehash=True)
    assert full.unreadable_objects == ["segments/1/r/000001.mp4"]
    assert full.object_content_mismatch == [] and not full.clean
    store.readable.add("segments/1/r/000001.mp4")
    assert service.check([segment(0), segment(1)], rehash=True).clean
