"""Crafted fragmented MP4 bytes: the top-level boxes only (their payloads are filler)."""

from __future__ import annotations

import struct


def box(kind: bytes, payload: bytes = b"", large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


INIT = box(b"ftyp", b"isom\0\0\2\0") + box(b"moov", b"\1" * 40)


def fragment(n: int) -> bytes:
    return box(b"moof", bytes([n]) * 24) + box(b"mdat", bytes([n]) * (100 + n))
