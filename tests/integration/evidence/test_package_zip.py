"""The package ZIP is written in large chunks, yet byte for byte as ``ZipFile.write`` writes it."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from custos.adapters.export.evidence_files import EvidenceFiles


def test_the_zip_is_the_one_zipfile_write_makes(tmp_path: Path) -> None:
    video = tmp_path / "video.mp4"
    video.write_bytes(bytes(range(256)) * 12_000)  # 3 MB: several 1 MiB chunks
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(b'{"format":"custos-evidence/1"}')
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    members = [("manifest.json", manifest), ("110105.mp4", video), ("log/empty.txt", empty)]
    reference = tmp_path / "reference.zip"
    with zipfile.ZipFile(reference, "x", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, source in members:
            z.write(source, name)

    written = EvidenceFiles().write_zip(tmp_path / "package.zip", members)

    assert written.path.read_bytes() == reference.read_bytes()
    assert written.sha256 == hashlib.sha256(reference.read_bytes()).hexdigest()
    assert written.bytes == reference.stat().st_size
    with zipfile.ZipFile(written.path) as z:
        assert z.testzip() is None
        assert z.read("110105.mp4") == video.read_bytes()
