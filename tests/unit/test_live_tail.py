"""The fMP4 tail shared by the browser's live view and the upward live sender
(services/live_tail.py): whole boxes only, from the newest complete fragment on."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from custos.services.live_tail import (
    STALE_S,
    complete_boxes,
    first_tail,
    fragments,
    newest_segment,
    recording_now,
)


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


INIT = box(b"ftyp", b"isom") + box(b"moov", box(b"mvhd", b"\0" * 8))


def fragment(n: int) -> bytes:
    return box(b"moof", bytes([n])) + box(b"mdat", bytes([n]) * 10)


def test_a_reader_starts_at_the_newest_complete_fragment_and_never_reads_half_a_box(
    tmp_path: Path,
) -> None:
    run = tmp_path / "7" / "20261207T000000Z-abcdef"
    run.mkdir(parents=True)
    f = run / "000000.mp4"
    f.write_bytes(INIT + fragment(1) + fragment(2) + fragment(3)[:5])  # the third half-written
    tail = first_tail(tmp_path, 7)
    assert tail is not None and tail.init == INIT
    assert tail.read_fragments() == fragment(2)  # the newest complete one, a keyframe
    assert tail.read_fragments() == b""  # nothing whole yet
    f.write_bytes(INIT + fragment(1) + fragment(2) + fragment(3) + fragment(4))
    assert tail.read_fragments() == fragment(3) + fragment(4)
    assert [b.kind for b in complete_boxes(f.read_bytes())][:3] == [b"ftyp", b"moov", b"moof"]
    assert len(fragments(complete_boxes(f.read_bytes()))) == 4


def test_recording_now_means_the_newest_file_grew_within_the_stale_limit(tmp_path: Path) -> None:
    assert newest_segment(tmp_path, 7) is None and not recording_now(tmp_path, 7, 1e9)
    run = tmp_path / "7" / "20261207T000000Z-abcdef"
    run.mkdir(parents=True)
    (run / "000000.mp4").write_bytes(INIT)
    newest = run / "000001.mp4"
    newest.write_bytes(INIT + fragment(1))
    os.utime(newest, (1_000_000.0, 1_000_000.0))
    assert newest_segment(tmp_path, 7) == newest
    assert recording_now(tmp_path, 7, 1_000_000.0 + STALE_S - 1)
    assert not recording_now(tmp_path, 7, 1_000_000.0 + STALE_S + 1)
