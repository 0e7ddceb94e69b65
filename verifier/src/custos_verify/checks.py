"""The checks, in order; the first that fails stops the run and names its culprit.

1. contents  — the ZIP's names are exactly the manifest's ``files`` plus the fixed names
               (custody.pdf may be absent)
2. hashes    — every listed file's SHA-256 and size
3. signature — manifest.json under keys/export.pub
4. key       — that key's fingerprint is the one given (and the manifest's ``export_key``)
5. entry     — log/entry.bin is the export's entry and names the manifest's SHA-256, and the
               custody sheet's when the package has one (``custody_sha256``)
6. inclusion — the entry's RFC 6962 leaf with log/proof.json leads to the checkpoint's root
7. checkpoint— log/checkpoint.json is signed by keys/log.pub, the manifest's ``log_key``
8. media     — each MP4 decodes (ffprobe, when it is on PATH)
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custos_verify import format as f
from custos_verify.media import probe
from custos_verify.package import BadMember, Package, Unreadable

MAX_MANIFEST = 64 << 20
MAX_SMALL = 1 << 20
WORKERS = min(8, os.cpu_count() or 1)  # hashing threads
PROBES = 4  # ffprobe processes at once


@dataclass(frozen=True)
class Step:
    """One line of the report: ``ok`` (proved) or ``note`` (what was not, or could not be)."""

    kind: str
    text: str


class Failure(Exception):  # noqa: N818 - the verdict, not a programming error
    """Verification failed at ``step``; ``culprit`` is the file (or key) to blame."""

    def __init__(self, step: str, culprit: str, reason: str) -> None:
        super().__init__(f"{step}: {culprit}: {reason}")
        self.step = step
        self.culprit = culprit
        self.reason = reason


Report = Callable[[Step], None]


def verify_package(
    path: Path,
    fingerprint: str | None = None,
    ffprobe: str | None = None,
    report: Report | None = None,
) -> list[Step]:
    """Run every check; returns the steps (also handed to ``report`` as they happen).

    Raises :class:`Failure` for the first check that fails, :class:`Unreadable` when the file is
    not a ZIP at all. ``fingerprint`` is 64 hex digits (see ``format.normalise_fingerprint``).
    """
    steps: list[Step] = []

    def say(kind: str, text: str) -> None:
        step = Step(kind, text)
        steps.append(step)
        if report is not None:
            report(step)

    with Package(path) as pkg:
        try:
            _verify(pkg, fingerprint, ffprobe, say)
        except BadMember as e:
            raise Failure("read", e.name, e.reason) from None
        except (zipfile.BadZipFile, OSError) as e:
            raise Unreadable(f"{path}: {e}") from None
    return steps


def _verify(
    pkg: Package, given_fp: str | None, ffprobe: str | None, say: Callable[[str, str], None]
) -> None:
    # 1. contents
    manifest_bytes = _need(pkg, f.MANIFEST, "contents", MAX_MANIFEST)
    manifest = _manifest(manifest_bytes)
    files = manifest["files"]
    listed = {e["name"] for e in files}
    if pkg.stray is not None:
        raise Failure(
            "contents", pkg.stray, "holds bytes outside every file of the package (hidden data)"
        )
    seen: set[str] = set()
    for name in pkg.names:
        if name in seen:
            raise Failure("contents", name, "appears twice in the ZIP")
        seen.add(name)
        if name not in listed and name not in f.FIXED_NAMES:
            raise Failure("contents", name, "was added: the manifest does not list it")
    required = [n for n in f.FIXED_NAMES if n not in f.OPTIONAL_NAMES]
    for name in [*required, *sorted(listed)]:
        if name not in seen:
            raise Failure("contents", name, "is missing from the ZIP")
    fixed = len([n for n in f.FIXED_NAMES if n in seen and n not in listed])
    say("ok", f"contents: exactly the {len(listed)} listed files and the {fixed} fixed ones")

    # 2. hashes: every file at once on the machine's cores; ffprobe starts on the MP4s meanwhile
    videos = [e["name"] for e in files if e["name"].endswith(".mp4")]
    placed = {e["name"]: pkg.member(e["name"]) for e in files}
    probing = ThreadPoolExecutor(max_workers=PROBES)
    hashing = ThreadPoolExecutor(max_workers=WORKERS)
    try:
        probes = (
            {n: probing.submit(probe, ffprobe, pkg.path, placed[n]) for n in videos}
            if ffprobe is not None
            else {}
        )
        digests = [hashing.submit(pkg.digest, placed[e["name"]]) for e in files]
        total = 0
        for e, pending in zip(files, digests, strict=True):
            sha, size = pending.result()
            if size != e["bytes"]:
                raise Failure(
                    "hashes", e["name"], f"is {size} bytes, the manifest says {e['bytes']}"
                )
            if sha != e["sha256"]:
                raise Failure("hashes", e["name"], "its SHA-256 differs from the manifest's")
            total += size
        say("ok", f"hashes: every listed file has its SHA-256 and size ({total} bytes)")
        _chain(pkg, manifest, manifest_bytes, given_fp, say)
        _summary(manifest, say)
        # 8. media
        if ffprobe is None:
            say(
                "note",
                f"media: ffprobe is not on PATH: the {len(videos)} MP4 files were hashed but not decoded",
            )
            return
        for name in videos:
            problem = probes[name].result()
            if problem is not None:
                raise Failure("media", name, problem)
        say("ok", f"media: each of the {len(videos)} MP4 files decodes (ffprobe)")
    finally:
        hashing.shutdown(cancel_futures=True)
        probing.shutdown(cancel_futures=True)


def _chain(
    pkg: Package,
    manifest: dict[str, Any],
    manifest_bytes: bytes,
    given_fp: str | None,
    say: Callable[[str, str], None],
) -> None:
    """Steps 3 to 7: signature, key, entry, inclusion, checkpoint."""
    # 3. signature
    export_pub = _key(pkg, f.EXPORT_KEY, "signature")
    sig = _hex_line(pkg, f.SIGNATURE, "signature", 64)
    try:
        Ed25519PublicKey.from_public_bytes(export_pub).verify(sig, manifest_bytes)
    except InvalidSignature:
        raise Failure(
            "signature",
            f.MANIFEST,
            f"the signature in {f.SIGNATURE} does not match it under {f.EXPORT_KEY}",
        ) from None
    export_fp = f.fingerprint(export_pub)
    say("ok", f"signature: {f.MANIFEST} is signed by the key in {f.EXPORT_KEY}")

    # 4. the export key
    if given_fp is None:
        say(
            "note",
            "key: no --fingerprint given. The package names its own key, so this key is only as "
            "trusted as wherever its fingerprint came from; compare it with the one on the "
            "custody sheet or the system's published keys (GET /api/v1/keys): "
            + f.grouped(export_fp),
        )
    elif given_fp != export_fp:
        raise Failure(
            "key",
            f.EXPORT_KEY,
            f"its fingerprint {f.grouped(export_fp)} is not the one given ({f.grouped(given_fp)})",
        )
    if manifest["export_key"] != export_fp:
        raise Failure("key", f.EXPORT_KEY, "its fingerprint is not the manifest's export_key")
    if given_fp is not None:
        say("ok", f"key: the export key's fingerprint is the one given ({f.grouped(export_fp)})")
    else:
        say("ok", "key: the export key's fingerprint is the manifest's export_key")

    # 5. the log entry
    entry_bytes = _need(pkg, f.LOG_ENTRY, "entry", MAX_SMALL)
    entry = _json(entry_bytes, f.LOG_ENTRY, "entry")
    seq, detail = entry.get("seq"), entry.get("detail")
    if (
        not isinstance(seq, int)
        or not _int(seq, 1, f.MAX_TREE_SIZE)
        or not isinstance(detail, dict)
    ):
        raise Failure("entry", f.LOG_ENTRY, "is not an operation-log entry (seq, detail)")
    if entry.get("action") != f.EXPORT_ACTION:
        raise Failure(
            "entry",
            f.LOG_ENTRY,
            f"is a {_show(entry.get('action'))} entry, not {f.EXPORT_ACTION!r}",
        )
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    if detail.get("manifest_sha256") != manifest_sha:
        raise Failure("entry", f.LOG_ENTRY, "does not name this manifest's SHA-256")
    sheet = _custody(pkg, detail, {e["name"] for e in manifest["files"]})
    say(
        "ok",
        f"entry: operation-log entry {seq} ({f.EXPORT_ACTION}, {_text(entry.get('at'))}) names this manifest"
        + sheet,
    )

    # 6. inclusion
    proof = _json(_need(pkg, f.LOG_PROOF, "inclusion", MAX_SMALL), f.LOG_PROOF, "inclusion")
    checkpoint = _checkpoint(pkg)
    path = proof.get("path")
    if (
        proof.get("seq") != seq
        or proof.get("leaf_index") != seq - 1
        or not _int(proof.get("tree_size"), 1, f.MAX_TREE_SIZE)
        or not isinstance(path, list)
        or len(path) > f.MAX_PATH
        or not all(isinstance(p, str) and f.HEX64.match(p) for p in path)
    ):
        raise Failure("inclusion", f.LOG_PROOF, f"is not an inclusion proof of entry {seq}")
    if proof["tree_size"] != checkpoint["tree_size"]:
        raise Failure("inclusion", f.LOG_PROOF, "is for another tree size than the checkpoint's")
    leaf = f.leaf_hash(entry_bytes)
    got = f.root_from_inclusion(seq - 1, proof["tree_size"], leaf, [bytes.fromhex(p) for p in path])
    if got is None or got.hex() != checkpoint["root"]:
        raise Failure(
            "inclusion",
            f.LOG_PROOF,
            f"the entry and its path do not lead to the root of {f.LOG_CHECKPOINT} "
            "(the proof, the entry or the checkpoint is not from the same log)",
        )
    say(
        "ok",
        f"inclusion: entry {seq} is leaf {seq - 1} of the tree of {proof['tree_size']} entries",
    )

    # 7. the checkpoint
    log_pub = _key(pkg, f.LOG_KEY, "checkpoint")
    log_fp = f.fingerprint(log_pub)
    if manifest["log_key"] != log_fp:
        raise Failure("checkpoint", f.LOG_KEY, "its fingerprint is not the manifest's log_key")
    if checkpoint["key_id"] != log_fp[:16]:
        raise Failure(
            "checkpoint",
            f.LOG_CHECKPOINT,
            f"names key {_show(checkpoint['key_id'])}, not {f.LOG_KEY}",
        )
    statement = f.checkpoint_statement(
        checkpoint["tree_size"],
        checkpoint["root"],
        checkpoint["chain"],
        checkpoint["signed_at"],
        checkpoint["key_id"],
    )
    try:
        Ed25519PublicKey.from_public_bytes(log_pub).verify(
            bytes.fromhex(checkpoint["signature"]), statement
        )
    except InvalidSignature:
        raise Failure(
            "checkpoint", f.LOG_CHECKPOINT, f"its signature does not match under {f.LOG_KEY}"
        ) from None
    say(
        "ok",
        f"checkpoint: tree size {checkpoint['tree_size']} signed {checkpoint['signed_at']} by the log key "
        f"{f.grouped(log_fp)} (the manifest's log_key)",
    )


def _custody(pkg: Package, detail: dict[str, Any], listed: set[str]) -> str:
    """The custody sheet is bound by the entry's ``custody_sha256`` (it is outside ``files``,
    made from the final manifest). A package made before that lists it in ``files`` instead
    (already hashed). Returns what the report adds to the entry line."""
    named = detail.get("custody_sha256")
    if named is None:
        if f.CUSTODY in pkg.names and f.CUSTODY not in listed:
            raise Failure(
                "entry",
                f.CUSTODY,
                "was added: neither the manifest nor the operation-log entry names its SHA-256",
            )
        return ""
    if f.CUSTODY not in pkg.names:
        raise Failure(
            "entry", f.CUSTODY, "is missing from the ZIP: the operation-log entry names its SHA-256"
        )
    sha, _ = pkg.digest(pkg.member(f.CUSTODY))
    if sha != named:
        raise Failure(
            "entry", f.CUSTODY, "its SHA-256 is not the one the operation-log entry names"
        )
    return f" and the custody sheet ({f.CUSTODY})"


def _summary(m: dict[str, Any], say: Callable[[str, str], None]) -> None:
    """What the signed manifest says the package is (informative lines, kind ``info``)."""
    unit = _dict(m.get("unit"))
    asked = _dict(m.get("range_asked"))
    say(
        "info",
        f"the manifest: kind {_text(m.get('kind'))}, unit {_text(unit.get('name'))}, exported "
        f"{_text(m.get('exported_at'))}, range asked {_text(asked.get('start'))} to {_text(asked.get('end'))}",
    )
    cameras = m.get("cameras")
    for c in cameras[:64] if isinstance(cameras, list) else []:
        if isinstance(c, dict):
            say(
                "info",
                f"camera {_text(c.get('address_code'))} ({_text(c.get('name'))}): {_text(c.get('file') or 'no footage')}",
            )


def _dict(v: object) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _text(v: object) -> str:
    """A string from the package as printed: control characters dropped, cut to 80."""
    text = "".join(ch for ch in str(v) if ch.isprintable())
    return text if len(text) <= 80 else text[:77] + "..."


def _show(v: object) -> str:
    """A value from the package as the report prints it: repr, cut to 80 characters."""
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _need(pkg: Package, name: str, step: str, limit: int) -> bytes:
    if name not in pkg.names:
        raise Failure(step, name, "is missing from the ZIP")
    return pkg.read(name, limit)


def _json(data: bytes, name: str, step: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Failure(step, name, "is not JSON") from None
    if not isinstance(value, dict):
        raise Failure(step, name, "is not a JSON object")
    return value


def _int(v: object, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _manifest(data: bytes) -> dict[str, Any]:
    m = _json(data, f.MANIFEST, "contents")
    if m.get("format") != f.FORMAT:
        raise Failure(
            "contents", f.MANIFEST, f"its format is {_show(m.get('format'))}, not {f.FORMAT!r}"
        )
    for key in ("export_key", "log_key"):
        if not isinstance(m.get(key), str) or not f.HEX64.match(m[key]):
            raise Failure("contents", f.MANIFEST, f"its {key} is not a fingerprint")
    files = m.get("files")
    if not isinstance(files, list):
        raise Failure("contents", f.MANIFEST, "has no files list")
    names: set[str] = set()
    for e in files:
        name = e.get("name") if isinstance(e, dict) else None
        if (
            not isinstance(name, str)
            or (name in f.FIXED_NAMES and name not in f.OPTIONAL_NAMES)
            or name.startswith(("keys/", "log/"))
            or name in names
            or not isinstance(e.get("sha256"), str)
            or not f.HEX64.match(e["sha256"])
            or not _int(e.get("bytes"), 0, 1 << 50)
        ):
            raise Failure("contents", f.MANIFEST, f"its files list has a bad entry: {_show(name)}")
        names.add(name)
    return m


def _key(pkg: Package, name: str, step: str) -> bytes:
    key = _hex_line(pkg, name, step, 32)
    try:
        Ed25519PublicKey.from_public_bytes(key)
    except ValueError:
        raise Failure(step, name, "is not an Ed25519 public key") from None
    return key


def _hex_line(pkg: Package, name: str, step: str, size: int) -> bytes:
    text = _need(pkg, name, step, 4096)
    try:
        raw = bytes.fromhex(text.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise Failure(step, name, "is not one line of hex") from None
    if len(raw) != size:
        raise Failure(step, name, f"holds {len(raw)} bytes, not {size}")
    return raw


def _checkpoint(pkg: Package) -> dict[str, Any]:
    name = f.LOG_CHECKPOINT
    cp = _json(_need(pkg, name, "inclusion", MAX_SMALL), name, "inclusion")
    ok = (
        _int(cp.get("tree_size"), 1, f.MAX_TREE_SIZE)
        and all(isinstance(cp.get(k), str) and f.HEX64.match(cp[k]) for k in ("root", "chain"))
        and isinstance(cp.get("signed_at"), str)
        and bool(f.CANONICAL_TIME.match(cp["signed_at"]))
        and isinstance(cp.get("key_id"), str)
        and isinstance(cp.get("signature"), str)
        and len(cp["signature"]) == 128
    )
    if ok:
        try:
            bytes.fromhex(cp["signature"])
        except ValueError:
            ok = False
    if not ok:
        raise Failure(
            "inclusion",
            name,
            "is not a signed checkpoint (tree_size, root, chain, signed_at, key_id, signature)",
        )
    return cp
