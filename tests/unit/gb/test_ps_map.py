"""The program stream map added to the PS that Custos sends upward (GB/T 28181 receivers read the
codec from it): its bytes, its CRC, where it goes, and that FFmpeg's PS demuxer obeys it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from custos.adapters.media.ps_map import (
    PSM_START,
    PsmInserter,
    crc32_mpeg2,
    program_stream_map,
)
from custos.adapters.media.rtp import PACK_START


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (Debian package ffmpeg)")
    return found


def test_the_crc_is_crc32_mpeg2() -> None:
    assert crc32_mpeg2(b"123456789") == 0x0376E6E7  # the catalogue's check value
    psm = program_stream_map(0x1B)
    assert crc32_mpeg2(psm) == 0  # a section with its CRC appended checks to zero


def test_the_map_names_one_video_stream_of_the_codec() -> None:
    psm = program_stream_map(0x24)
    assert psm[:4] == PSM_START
    assert int.from_bytes(psm[4:6], "big") == len(psm) - 6
    assert psm[6] & 0x80 and psm[12:16] == bytes([0x24, 0xE0, 0, 0])
    with pytest.raises(ValueError, match="mjpeg"):
        PsmInserter("mjpeg")


def test_it_goes_after_the_pack_and_system_headers_of_key_frames_only() -> None:
    pack_header = PACK_START + bytes([0x44, 0, 4, 0, 4, 1, 0, 0, 3, 0xF8])  # MPEG-2, no stuffing
    system = b"\x00\x00\x01\xbb" + (6).to_bytes(2, "big") + bytes(6)
    key = pack_header + system + b"\x00\x00\x01\xe0\x00\x08" + b"\x00\x00\x01\x67\x42"
    other = pack_header + b"\x00\x00\x01\xe0\x00\x08" + b"\x00\x00\x01\x41\x9a"
    inserter = PsmInserter("h264")
    first = inserter.process(other)  # the first pack gets one whatever it holds
    assert first[14:18] == PSM_START
    assert inserter.process(other) == other
    out = inserter.process(key)
    assert out[: 14 + 12] == key[: 14 + 12]
    assert out[26 : 26 + 4] == PSM_START
    assert inserter.process(out) == out  # never twice


def test_ffmpeg_reads_the_codec_from_our_map(tmp_path: Path) -> None:
    """Declared MPEG-2 video over H.264 bytes, FFmpeg's demuxer says mpeg2video: it obeys the
    map we wrote (and so says h264 from a true one, not by guessing)."""
    ps = subprocess.run(
        [_tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
         "-t", "1", "-c:v", "libx264", "-g", "25", "-f", "mpeg", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    packs = [PACK_START + p for p in ps.split(PACK_START)[1:]]

    def codec_with(stream_type: int) -> str:
        inserter = PsmInserter("h264")
        inserter._psm = program_stream_map(stream_type)  # the lie under test
        path = tmp_path / f"{stream_type}.ps"
        path.write_bytes(b"".join(inserter.process(p) for p in packs))
        out = subprocess.run(
            [_tool("ffprobe"), "-v", "error", "-of", "json", "-show_streams", "-f", "mpeg",
             str(path)],
            capture_output=True, check=True, text=True,
        ).stdout  # fmt: skip
        [stream] = json.loads(out)["streams"]
        assert stream["id"] == "0x1e0"  # renumbered from FFmpeg's 0xE2, as devices number it
        return str(stream["codec_name"])

    assert codec_with(0x1B) == "h264"
    assert codec_with(0x24) == "hevc"  # a lie, obeyed: the map is read
    assert codec_with(0x02) == "mpeg2video"
