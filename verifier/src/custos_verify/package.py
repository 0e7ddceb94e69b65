"""Reading the package ZIP: its members and where each one's bytes lie.

Packages are written ZIP_STORED, so a member's bytes are one contiguous range of the file: they
are hashed straight from there (no CRC pass, no copy), and ffprobe reads them in place.
"""

from __future__ import annotations

import hashlib
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_MEMBERS = 10_000
CHUNK = 1 << 20
DIGEST_CHUNK = 4 << 20
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_LOCAL_MAGIC = 0x04034B50


class Unreadable(Exception):  # noqa: N818 - the verdict for exit status 2
    """The input is not a package that can be read at all (exit status 2)."""


class BadMember(Exception):  # noqa: N818 - caught and reported as a failure
    """One member cannot be read as stored bytes; names it."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class Member:
    name: str
    offset: int  # of the first byte of its data in the ZIP file
    size: int
    stored: bool


class Package:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: BinaryIO = path.open("rb")
        except OSError as e:
            raise Unreadable(f"cannot open {path}: {e.strerror or e}") from None
        try:
            with zipfile.ZipFile(self._file) as z:
                infos = z.infolist()
                start_dir, comment = z.start_dir, z.comment
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            self._file.close()
            raise Unreadable(f"{path} is not a readable ZIP file ({e})") from None
        if len(infos) > MAX_MEMBERS:
            self._file.close()
            raise Unreadable(
                f"{path} has {len(infos)} members; a package has at most {MAX_MEMBERS}"
            )
        self.names = [i.filename for i in infos]
        self._infos = {i.filename: i for i in infos}  # a name twice: the contents check says so
        self._size = path.stat().st_size
        try:
            self.stray = self._stray(infos, start_dir, len(comment))
        except OSError as e:
            self._file.close()
            raise Unreadable(f"cannot read {path}: {e.strerror or e}") from None

    def _stray(self, infos: list[zipfile.ZipInfo], start_dir: int, comment: int) -> str | None:
        """Where the ZIP holds bytes that belong to no member (hidden data), or None.

        The members must tile the file from its first byte to the central directory, each
        local header naming its own member; after the directory only its end records."""
        pos = 0
        for info in sorted(infos, key=lambda i: i.header_offset):
            if info.header_offset != pos:
                return f"bytes {pos}..{info.header_offset} of the ZIP file"
            self._file.seek(pos)
            head = self._file.read(_LOCAL_HEADER.size)
            if len(head) != _LOCAL_HEADER.size or _LOCAL_HEADER.unpack(head)[0] != _LOCAL_MAGIC:
                return f"{info.filename} (its local header is missing)"
            flags, name_len, extra_len = (_LOCAL_HEADER.unpack(head)[i] for i in (2, 9, 10))
            raw_name = self._file.read(name_len)
            if raw_name != info.filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"):
                return f"{info.filename} (its local header names another file)"
            pos += _LOCAL_HEADER.size + name_len + extra_len + info.compress_size
            if flags & 0x08:  # a data descriptor follows: signature optional, sizes 4 or 8 bytes
                self._file.seek(pos)
                sig = self._file.read(4) == b"PK\x07\x08"
                pos += (4 if sig else 0) + (20 if info.file_size >= 0xFFFFFFFF else 12)
        if pos != start_dir:
            return f"bytes {pos}..{start_dir} of the ZIP file"
        directory = sum(
            46
            + len(i.orig_filename.encode("utf-8" if i.flag_bits & 0x800 else "cp437"))
            + len(i.extra)
            + len(i.comment)
            for i in infos
        )
        tail = self._size - start_dir - directory
        if tail not in (22 + comment, 22 + comment + 56 + 20):  # the end record (and ZIP64's)
            return f"bytes {start_dir + directory}..{self._size} of the ZIP file"
        return None

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def member(self, name: str) -> Member:
        info = self._infos[name]
        self._file.seek(info.header_offset)
        head = self._file.read(_LOCAL_HEADER.size)
        if len(head) != _LOCAL_HEADER.size or _LOCAL_HEADER.unpack(head)[0] != _LOCAL_MAGIC:
            raise BadMember(name, "its local header is missing or damaged")
        name_len, extra_len = _LOCAL_HEADER.unpack(head)[9:11]
        offset = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        stored = info.compress_type == zipfile.ZIP_STORED
        size = info.file_size if stored else info.compress_size
        if offset + size > self._size:
            raise BadMember(name, "its data runs past the end of the ZIP file")
        return Member(name, offset, info.file_size, stored)

    def chunks(self, name: str) -> Iterator[bytes]:
        """The member's bytes, a MiB at a time (inflated if someone recompressed it)."""
        m = self.member(name)
        if not m.stored:  # a ZipFile of its own: this may run in another thread
            try:
                with zipfile.ZipFile(self.path) as z, z.open(name) as f:
                    while block := f.read(CHUNK):
                        yield block
            except Exception as e:  # encrypted, an unknown method, damaged data: all the same
                raise BadMember(name, f"cannot be read ({e})") from None
            return
        self._file.seek(m.offset)
        left = m.size
        while left:
            block = self._file.read(min(CHUNK, left))
            if not block:
                raise BadMember(name, "the ZIP file ends inside it")
            left -= len(block)
            yield block

    def digest(self, m: Member) -> tuple[str, int]:
        """SHA-256 (hex) and length of a member's bytes, read through a handle of its own (so
        several members can be hashed at once: hashlib lets go of the GIL while it hashes)."""
        h, size = hashlib.sha256(), 0
        if not m.stored:
            for block in self.chunks(m.name):
                h.update(block)
                size += len(block)
            return h.hexdigest(), size
        buf = memoryview(bytearray(DIGEST_CHUNK))
        with self.path.open("rb", buffering=0) as f:
            f.seek(m.offset)
            left = m.size
            while left:
                n = f.readinto(buf[: min(DIGEST_CHUNK, left)])
                if not n:
                    raise BadMember(m.name, "the ZIP file ends inside it")
                h.update(buf[:n])
                left -= n
                size += n
        return h.hexdigest(), size

    def read(self, name: str, limit: int) -> bytes:
        """A small member whole; refused beyond ``limit`` bytes."""
        if self._infos[name].file_size > limit:
            raise BadMember(name, f"is {self._infos[name].file_size} bytes, over {limit}")
        return b"".join(self.chunks(name))
