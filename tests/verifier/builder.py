"""A test-side builder of ``custos-evidence/1`` packages, following docs/design/evidence.md.

The operation log behind a package is made with custos' own domain code (canonical entries,
RFC 6962 leaves and paths, the signed checkpoint statement), so the verifier's re-stated format
is checked against the real one. Keys come from ``cryptography``. Tampering helpers rewrite a
package the way an attacker would (a member changed with a valid ZIP), or flip a raw byte.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custos.domain.audit import AuditEvent
from custos.domain.audit_chain import (
    GENESIS,
    Checkpoint,
    canonical_entry,
    canonical_json,
    checkpoint_statement,
    key_id_of,
    next_chain,
)
from custos.domain.merkle import inclusion_path, leaf_hash, root

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
FIXED = (
    "manifest.json",
    "manifest.sig",
    "keys/export.pub",
    "keys/log.pub",
    "log/entry.bin",
    "log/proof.json",
    "log/checkpoint.json",
)


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(key: Ed25519PrivateKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()


@dataclass
class Log:
    """A small operation log: canonical entries, their leaves, checkpoints signed by ``key``."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    entries: list[bytes] = field(default_factory=list)

    def append(self, action: str, detail: dict[str, Any] | None = None) -> int:
        seq = len(self.entries) + 1
        event = AuditEvent(
            T0 + timedelta(seconds=seq),
            "officer:7",
            action,
            "export",
            str(seq),
            detail=detail or {},
        )
        self.entries.append(canonical_entry(seq, event))
        return seq

    def filler(self, n: int) -> None:
        for i in range(n):
            self.append("camera.view", {"camera_id": i})

    def checkpoint(
        self, size: int | None = None, key: Ed25519PrivateKey | None = None
    ) -> Checkpoint:
        size = len(self.entries) if size is None else size
        key = key or self.key
        leaves = [leaf_hash(e) for e in self.entries[:size]]
        chain = GENESIS
        for leaf in leaves:
            chain = next_chain(chain, leaf)
        at = T0 + timedelta(hours=1)
        kid = key_id_of(raw_public(key))
        sig = key.sign(checkpoint_statement(size, root(leaves), chain, at, kid))
        return Checkpoint(size, root(leaves), chain, at, kid, sig)

    def proof(self, seq: int, size: int) -> dict[str, Any]:
        leaves = [leaf_hash(e) for e in self.entries[:size]]
        path = inclusion_path(leaves, seq - 1)
        return {
            "seq": seq,
            "leaf_index": seq - 1,
            "tree_size": size,
            "path": [p.hex() for p in path],
        }

    def rewrite(self, seq: int, action: str) -> None:
        """Someone with the database rewrites an entry (the signed checkpoint cannot follow)."""
        event = AuditEvent(T0, "root", action, "export", str(seq))
        self.entries[seq - 1] = canonical_entry(seq, event)


@dataclass
class Built:
    path: Path
    export_key: Ed25519PrivateKey
    log: Log
    seq: int
    manifest: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.export_key)


Content = bytes | Path  # a large video is given as a file and streamed, never held whole


def _digest(c: Content) -> tuple[str, int]:
    if isinstance(c, bytes):
        return hashlib.sha256(c).hexdigest(), len(c)
    h = hashlib.sha256()
    with c.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest(), c.stat().st_size


def manifest_for(
    files: Mapping[str, Content],
    cameras: list[str],
    export_fp: str,
    log_fp: str,
    kind: str = "export",
) -> dict[str, Any]:
    listed = []
    for n, c in sorted(files.items()):
        sha, size = _digest(c)
        listed.append({"name": n, "sha256": sha, "bytes": size})
    rng = {"start": "2026-11-20T01:00:00.000000Z", "end": "2026-11-20T01:10:00.000000Z"}
    return {
        "format": "custos-evidence/1",
        "system": {"name": "Custos test", "version": "0.1.0", "platform_id": None},
        "unit": {"name": "测试单位", "credit_code": None},
        "exported_at": "2026-11-20T02:00:00.000000Z",
        "kind": kind,
        "request": None,
        "purpose": "tamper test",
        "register_entry_id": "R-1",
        "range_asked": rng,
        "cameras": [
            {
                "id": str(i),
                "address_code": c,
                "name": f"camera {c}",
                "site": "gate",
                "file": f"video/{c}.mp4",
                "range_delivered": rng,
            }
            for i, c in enumerate(cameras)
        ],
        "sources": [],
        "gaps": [],
        "files": listed,
        "export_key": export_fp,
        "log_key": log_fp,
    }


def write_zip(dest: Path, members: Mapping[str, Content]) -> None:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            if isinstance(data, bytes):
                z.writestr(name, data)
            else:
                z.write(data, name)


def build(
    dest: Path,
    videos: Mapping[str, Content],
    *,
    export_key: Ed25519PrivateKey | None = None,
    log: Log | None = None,
    extra: Mapping[str, bytes] | None = None,
    sheet: bytes | None = b"%PDF-1.7 a custody sheet stand-in\n",
    kind: str = "export",
) -> Built:
    """A package of ``videos`` (address code → MP4 bytes), signed, its export entry in ``log``
    with an inclusion proof under a checkpoint signed a few entries later. ``sheet`` is the
    custody sheet: outside the manifest, its SHA-256 in the entry (None: no sheet)."""
    export_key = export_key or Ed25519PrivateKey.generate()
    log = log or Log()
    files: dict[str, Content] = {f"video/{c}.mp4": b for c, b in videos.items()}
    files["verify.html"] = b"<!doctype html><title>verify</title>\n"
    files.update(extra or {})
    manifest = manifest_for(
        files, list(videos), fingerprint(export_key), fingerprint(log.key), kind
    )
    mbytes = canonical_json(manifest).encode()
    log.filler(5)
    detail = {"manifest_sha256": hashlib.sha256(mbytes).hexdigest()}
    if sheet is not None:
        detail["custody_sha256"] = hashlib.sha256(sheet).hexdigest()
    seq = log.append("export.package", detail)
    log.filler(3)
    cp = log.checkpoint()
    members: dict[str, Content] = {
        "manifest.json": mbytes,
        "manifest.sig": export_key.sign(mbytes).hex().encode() + b"\n",
        "keys/export.pub": raw_public(export_key).hex().encode() + b"\n",
        "keys/log.pub": raw_public(log.key).hex().encode() + b"\n",
        "log/entry.bin": log.entries[seq - 1],
        "log/proof.json": json.dumps(log.proof(seq, cp.tree_size)).encode(),
        "log/checkpoint.json": json.dumps(cp.as_dict()).encode(),
        **({"custody.pdf": sheet} if sheet is not None else {}),
        **files,
    }
    write_zip(dest, members)
    return Built(dest, export_key, log, seq, manifest)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(
    src: Path,
    dest: Path,
    replace: Mapping[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
    add: Mapping[str, bytes] | None = None,
) -> Path:
    """The package rewritten as a valid ZIP with some members changed, dropped or added."""
    m = {n: b for n, b in members(src).items() if n not in drop}
    m.update(replace or {})
    m.update(add or {})
    write_zip(dest, m)
    return dest


def flip_byte(src: Path, dest: Path, member: str, at: int) -> Path:
    """One byte of ``member``'s data flipped in place in the ZIP file (its CRC left stale)."""
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo(member)
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    data[start + at] ^= 0x01
    dest.write_bytes(bytes(data))
    return dest


def resigned(src: Path, dest: Path) -> Path:
    """The manifest changed and re-signed with another key, which now stands in the package."""
    other = Ed25519PrivateKey.generate()
    manifest = json.loads(members(src)["manifest.json"])
    manifest["purpose"] = "something else"
    manifest["export_key"] = fingerprint(other)
    mbytes = canonical_json(manifest).encode()
    return rezip(
        src,
        dest,
        replace={
            "manifest.json": mbytes,
            "manifest.sig": other.sign(mbytes).hex().encode(),
            "keys/export.pub": raw_public(other).hex().encode(),
        },
    )
