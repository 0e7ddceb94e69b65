"""The package ZIP is written front to back, in large chunks, hashed as it is written, yet byte
for byte as ``ZipFile.write`` writes it: with each member's CRC-32 read beforehand, from the
digest that hashed it or a read of its own, and with ZIP64 fields where zipfile puts them."""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from pathlib import Path

import pytest

from custos.adapters.export.evidence_files import EvidenceFiles
from custos.services.evidence import FileDigest


def reference_zip(dst: Path, members: list[tuple[str, Path]]) -> bytes:
    with zipfile.ZipFile(dst, "x", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, source in members:
            z.write(source, name)
    return dst.read_bytes()


def package_members(tmp_path: Path) -> list[tuple[str, Path]]:
    video = tmp_path / "video.mp4"
    video.write_bytes(bytes(range(256)) * 12_000)  # 3 MB: several 1 MiB chunks
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(b'{"format":"custos-evidence/1"}')
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    return [("manifest.json", manifest), ("110105.mp4", video), ("log/empty.txt", empty)]


def test_the_zip_is_the_one_zipfile_write_makes(tmp_path: Path) -> None:
    members = package_members(tmp_path)
    reference = reference_zip(tmp_path / "reference.zip", members)

    written = EvidenceFiles().write_zip(tmp_path / "package.zip", members)

    assert written.path.read_bytes() == reference
    assert written.sha256 == hashlib.sha256(reference).hexdigest()
    assert written.bytes == len(reference)
    assert not (tmp_path / "package.partial").exists()
    with zipfile.ZipFile(written.path) as z:
        assert z.testzip() is None
        assert z.read("110105.mp4") == (tmp_path / "video.mp4").read_bytes()


def test_the_digest_is_the_sha256_size_and_crc32_the_zip_then_takes(tmp_path: Path) -> None:
    files = EvidenceFiles()
    members = package_members(tmp_path)
    reference = reference_zip(tmp_path / "reference.zip", members)
    data = (tmp_path / "video.mp4").read_bytes()

    digest = files.digest(tmp_path / "video.mp4")
    written = files.write_zip(tmp_path / "package.zip", members, {"110105.mp4": digest})

    assert digest == FileDigest(hashlib.sha256(data).hexdigest(), len(data), zlib.crc32(data))
    assert written.path.read_bytes() == reference
    assert written.sha256 == hashlib.sha256(reference).hexdigest()


def test_zip64_fields_are_where_zipfile_puts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With zipfile's limits lowered (both writers read them when used), small files take every
    ZIP64 path a large package takes: a local ZIP64 extra from 1.05 × size on, a central one
    for a size or a header offset past the limit, the ZIP64 end records for the central
    directory's offset or for the member count."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    sizes = {"a.json": 980, "b.json": 10, "c.mp4": 5000, "d.json": 990, "e.txt": 0}
    paths = {}
    for name, size in sizes.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(os.urandom(size))
    files = EvidenceFiles()
    digested = {name: files.digest(paths[name]) for name in ("c.mp4", "d.json")}
    for i, names in enumerate([["c.mp4"], ["b.json", "e.txt"], list(sizes)]):
        members = [(name, paths[name]) for name in names]
        reference = reference_zip(tmp_path / f"reference{i}.zip", members)

        written = files.write_zip(tmp_path / f"package{i}.zip", members, digested)

        assert b"PK\x06\x06" in reference  # the ZIP64 end record
        assert written.path.read_bytes() == reference
        assert written.sha256 == hashlib.sha256(reference).hexdigest()
        with zipfile.ZipFile(written.path) as z:
            assert z.testzip() is None
            assert [z.read(name) for name in names] == [paths[n].read_bytes() for n in names]


def test_a_file_changed_since_its_digest_is_refused_and_leaves_no_zip(tmp_path: Path) -> None:
    files = EvidenceFiles()
    members = package_members(tmp_path)
    digest = files.digest(tmp_path / "video.mp4")
    with (tmp_path / "video.mp4").open("ab") as f:
        f.write(b"torn")

    with pytest.raises(OSError, match=r"110105\.mp4"):
        files.write_zip(tmp_path / "package.zip", members, {"110105.mp4": digest})

    assert not (tmp_path / "package.zip").exists()
    assert not (tmp_path / "package.partial").exists()
