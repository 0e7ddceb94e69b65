"""A stored (uncompressed) ZIP written front to back, hashed as it is written.

``zipfile`` writes a member's local header with a zero CRC-32, copies the data computing it,
then seeks back and writes the header again; the archive's SHA-256 then needs a read of the
finished file. Here each member comes with its CRC-32 and size already known (taken in the read
that hashes the file for the manifest), so every byte is written once, in order, and the
archive's SHA-256 is taken from the bytes as they go out.

The bytes are those ``ZipFile.write`` writes for the same files (tests/integration/evidence/
test_package_zip.py compares them): ``ZipInfo.from_file``'s header, and ZIP64 fields where
zipfile puts them: a ZIP64 extra in the local header when the size times 1.05 passes
``ZIP64_LIMIT`` (zipfile's allowance for compression, kept although nothing is compressed),
one in the central directory when the size or the header's offset passes it, and the ZIP64
end records when the central directory's offset, size or member count passes its limit. The
limits are read from ``zipfile`` when used, as zipfile reads them.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
ZIP64_VERSION = 45  # "version needed to extract" for ZIP64 (APPNOTE 4.4.3)
UTF8_NAME = 0x800  # general purpose flag bit 11: the name is UTF-8
NO_32 = 0xFFFFFFFF  # a 32-bit field whose value is in the ZIP64 extra


class StoredZip:
    """Members added one by one from files on disk, then :meth:`finish` writes the central
    directory. Holds one chunk and the members' headers in memory, never a member."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._sha = hashlib.sha256()
        self._offset = 0
        self._members: list[zipfile.ZipInfo] = []
        self._names: set[str] = set()
        self._buffer = bytearray(CHUNK)

    def add(self, name: str, source: Path, crc32: int, size: int) -> None:
        """Copy ``source`` in as ``name``; ``crc32`` and ``size`` are the file's, as read before.

        Raises OSError when the file is not ``size`` bytes long (it changed since it was read)."""
        if name in self._names:
            raise ValueError(f"{name} is in the ZIP already")
        info = zipfile.ZipInfo.from_file(source, name)
        if info.is_dir():
            raise ValueError(f"{name}: a folder, not a file")
        if info.file_size != size:
            raise OSError(f"{name} is {info.file_size} bytes, {size} when it was read")
        info.compress_type = zipfile.ZIP_STORED
        info.CRC, info.compress_size = crc32, size
        info.header_offset = self._offset
        self._write(info.FileHeader(size * 1.05 > zipfile.ZIP64_LIMIT))
        copied = 0
        view = memoryview(self._buffer)
        with source.open("rb") as src:
            while n := src.readinto(self._buffer):
                self._write(view[:n])
                copied += n
        if copied != size:
            raise OSError(f"{name} gave {copied} bytes, {size} when it was read")
        self._members.append(info)
        self._names.add(name)

    def finish(self) -> tuple[str, int]:
        """Write the central directory and the end records; the archive's SHA-256 and size."""
        start = self._offset
        self._write(b"".join(_central_entry(m) for m in self._members))
        count, size = len(self._members), self._offset - start
        limit = zipfile.ZIP64_LIMIT
        if count > zipfile.ZIP_FILECOUNT_LIMIT or start > limit or size > limit:
            self._write(
                struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, ZIP64_VERSION, ZIP64_VERSION,
                            0, 0, count, count, size, start)
                + struct.pack("<4sLQL", b"PK\x06\x07", 0, start + size, 1)
            )  # fmt: skip
            count, size, start = min(count, 0xFFFF), min(size, NO_32), min(start, NO_32)
        self._write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, start, 0))
        return self._sha.hexdigest(), self._offset

    def _write(self, data: bytes | memoryview) -> None:
        self._out.write(data)
        self._sha.update(data)
        self._offset += len(data)


def _central_entry(info: zipfile.ZipInfo) -> bytes:
    """The member's central directory record (APPNOTE 4.3.12), with the ZIP64 extra holding
    the sizes and/or the header's offset when they pass ``ZIP64_LIMIT``."""
    limit = zipfile.ZIP64_LIMIT
    big, far = info.file_size > limit, info.header_offset > limit
    wide = ([info.file_size, info.compress_size] if big else []) + (
        [info.header_offset] if far else []
    )
    extra = struct.pack(f"<HH{len(wide)}Q", 1, 8 * len(wide), *wide) if wide else b""
    floor = ZIP64_VERSION if wide else 0
    try:
        name, flags = info.filename.encode("ascii"), info.flag_bits
    except UnicodeEncodeError:
        name, flags = info.filename.encode("utf-8"), info.flag_bits | UTF8_NAME
    y, mo, d, h, mi, s = info.date_time
    record = struct.pack(
        "<4s4B4HL2L5H2L", b"PK\x01\x02",
        max(floor, info.create_version), info.create_system,
        max(floor, info.extract_version), info.reserved,
        flags, info.compress_type, h << 11 | mi << 5 | s // 2, (y - 1980) << 9 | mo << 5 | d,
        info.CRC, NO_32 if big else info.compress_size, NO_32 if big else info.file_size,
        len(name), len(extra), len(info.comment), 0, info.internal_attr, info.external_attr,
        NO_32 if far else info.header_offset,
    )  # fmt: skip
    return record + name + extra + info.comment
