"""The program stream map (PSM, ISO/IEC 13818-1 §2.5.4) that GB/T 28181 receivers expect.

FFmpeg's program-stream muxers write pack headers, a system header and PES packets, but no PSM.
A GB/T 28181 device puts one before every key frame (pack header, system header, PSM, then the
frame), and upper platforms read the video's codec from it (stream type 0x1B H.264, 0x24 H.265):
without it a receiver must guess from the elementary stream, and some guess MPEG-2 video. This
module adds it: GB-specific PS framing, hand-written; demuxing and muxing stay FFmpeg's.
"""

from __future__ import annotations

PACK_START = b"\x00\x00\x01\xba"
SYSTEM_HEADER = b"\x00\x00\x01\xbb"
PSM_START = b"\x00\x00\x01\xbc"
VIDEO_STREAM_ID = 0xE0

#: the PSM's stream_type per recorded codec
STREAM_TYPES = {"h264": 0x1B, "hevc": 0x24}

#: the start of a parameter set, after which a key frame follows (H.264 SPS; H.265 VPS, SPS)
_KEY_NAL = {
    0x1B: (b"\x00\x00\x01\x67", b"\x00\x00\x01\x27"),
    0x24: (b"\x00\x00\x01\x40", b"\x00\x00\x01\x42"),
}


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2 (polynomial 0x04C11DB7, not reflected, initial 0xFFFFFFFF, no final xor)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def program_stream_map(stream_type: int, version: int = 0) -> bytes:
    """One PSM naming a single video elementary stream (0xE0) of ``stream_type``."""
    if not 0 <= stream_type <= 0xFF or not 0 <= version <= 31:
        raise ValueError("stream_type 0..255, version 0..31")
    elementary = bytes([stream_type, VIDEO_STREAM_ID, 0x00, 0x00])  # no descriptors
    body = (
        bytes([0x80 | version, 0x01])  # current_next_indicator=1, version; marker
        + (0).to_bytes(2, "big")  # program_stream_info_length
        + len(elementary).to_bytes(2, "big")
        + elementary
    )
    length = len(body) + 4  # + CRC
    packet = PSM_START + length.to_bytes(2, "big") + body
    return packet + crc32_mpeg2(packet).to_bytes(4, "big")


def _renumber_video(pack: bytes) -> bytes:
    out = bytearray(pack)
    for stream_id in range(VIDEO_STREAM_ID + 1, 0xF0):
        code = b"\x00\x00\x01" + bytes([stream_id])
        if code in pack:
            out = bytearray(bytes(out).replace(code, b"\x00\x00\x01\xe0"))
    at = _pack_header_length(pack)
    if pack[at : at + 4] == SYSTEM_HEADER:  # its stream entries (3 bytes each) after 6 fixed
        end = min(len(pack), at + 6 + int.from_bytes(pack[at + 4 : at + 6], "big"))
        for entry in range(at + 12, end - 2, 3):
            if VIDEO_STREAM_ID < out[entry] < 0xF0:
                out[entry] = VIDEO_STREAM_ID
    return bytes(out)


def _pack_header_length(pack: bytes) -> int:
    """The length of the pack header at the start of ``pack`` (MPEG-2: 14 + stuffing; MPEG-1: 12)."""
    if len(pack) < 12:
        return len(pack)
    if pack[4] >> 6 == 0b01:  # MPEG-2
        return min(len(pack), 14 + (pack[13] & 0x07) if len(pack) >= 14 else len(pack))
    return 12


class PsmInserter:
    """Puts a PSM into each pack that carries the parameter sets of a key frame (and into the
    first pack), after its pack header and system header, as GB/T 28181 devices do.

    The video's PES packets are renumbered to stream 0xE0, the id GB/T 28181 devices use and
    receivers look for (FFmpeg's muxer numbers H.264 0xE2). The rewrite is safe on the whole
    pack: a start code ``00 00 01`` followed by 0xE1–0xEF cannot occur inside H.264 or H.265
    data (that byte would be a NAL header with its forbidden bit set)."""

    def __init__(self, codec: str) -> None:
        try:
            self.stream_type = STREAM_TYPES[codec]
        except KeyError:
            raise ValueError(f"no PS stream type for codec {codec!r}") from None
        self._psm = program_stream_map(self.stream_type)
        self._first = True

    def process(self, pack: bytes) -> bytes:
        if not pack.startswith(PACK_START) or PSM_START in pack[:64]:
            return pack
        pack = _renumber_video(pack)
        key = any(marker in pack for marker in _KEY_NAL[self.stream_type])
        if not (key or self._first):
            return pack
        self._first = False
        at = _pack_header_length(pack)
        if pack[at : at + 4] == SYSTEM_HEADER and len(pack) >= at + 6:
            at += 6 + int.from_bytes(pack[at + 4 : at + 6], "big")
        return pack[:at] + self._psm + pack[at:]
