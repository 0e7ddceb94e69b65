"""The signed evidence package (custos-evidence/1), end to end on SQLite and PostgreSQL: a staff
export and an executed copy grant each yield a ZIP whose manifest is signed by the export key,
whose log entry names the manifest and is proved into a checkpoint signed by the log key, and
whose video starts on the first frame asked for. Checked here with ``cryptography`` and the
domain's Merkle code only, the way an outside verifier would."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custos.adapters.storage.segment_files import SegmentStore
from custos.domain.access import Role
from custos.domain.audit_chain import Checkpoint
from custos.domain.evidence import (
    CUSTODY,
    EXPORT_KEY,
    FIXED_NAMES,
    FORMAT,
    LOG_CHECKPOINT,
    LOG_ENTRY,
    LOG_KEY,
    LOG_PROOF,
    MANIFEST,
    OPTIONAL_NAMES,
    REQUIRED,
    SIGNATURE,
    canonical_manifest,
    fingerprint,
)
from custos.domain.merkle import leaf_hash, root_from_inclusion
from custos.domain.recording import Segment
from custos.domain.users import SYSTEM
from tests.api.access_world import XIAN, World
from tests.api.builders import API
from tests.api.test_access_requests import approved_request, post

PURPOSE = "核查东门事件 (east gate incident 7)"


def _manager(w: World) -> dict[str, str]:
    return w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)


def _export(w: World, from_s: float, to_s: float) -> tuple[dict[str, Any], Path]:
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(from_s, to_s), "purpose": PURPOSE}
    r = w.client.post(f"{API}/exports", json=body, headers=_manager(w))
    assert r.status_code == 201, r.text
    return r.json(), _file(w, r.json()["sha256"])


def _file(w: World, sha256: str) -> Path:
    root = Path(w.container.settings.data_dir) / "exports"
    found = [p for p in root.glob("*.zip") if _sha(p.read_bytes()) == sha256]
    assert len(found) == 1
    return found[0]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_package(path: Path, export_fp: str | None = None) -> dict[str, Any]:
    """Every link of the chain; returns the manifest. Fails naming the first broken link."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        body = z.read(MANIFEST)
        manifest = json.loads(body)
        assert canonical_manifest(manifest) == body, "manifest.json is not canonical"
        listed = {f["name"] for f in manifest["files"]}
        required = set(FIXED_NAMES) - set(OPTIONAL_NAMES)
        assert names - set(OPTIONAL_NAMES) == listed | required, "files added or missing"
        assert CUSTODY not in listed, "the custody sheet is outside the manifest"
        for f in manifest["files"]:
            data = z.read(f["name"])
            assert (_sha(data), len(data)) == (f["sha256"], f["bytes"]), f["name"]
        export_pub = bytes.fromhex(z.read(EXPORT_KEY).decode().strip())
        assert fingerprint(export_pub) == manifest["export_key"]
        if export_fp is not None:
            assert fingerprint(export_pub) == export_fp, "signed by another export key"
        Ed25519PublicKey.from_public_bytes(export_pub).verify(
            bytes.fromhex(z.read(SIGNATURE).decode().strip()), body
        )
        entry_bytes = z.read(LOG_ENTRY)
        entry = json.loads(entry_bytes)
        assert entry["action"] == "export.package"
        assert entry["detail"]["manifest_sha256"] == _sha(body)
        if CUSTODY in names:  # the sheet prints the manifest's hash; the entry names the sheet's
            assert entry["detail"]["custody_sha256"] == _sha(z.read(CUSTODY))
        else:
            assert "custody_sha256" not in entry["detail"]
        proof = json.loads(z.read(LOG_PROOF))
        cp = Checkpoint.from_dict(json.loads(z.read(LOG_CHECKPOINT)))
        assert proof["seq"] == entry["seq"] and proof["leaf_index"] == entry["seq"] - 1
        assert proof["tree_size"] == cp.tree_size
        root = root_from_inclusion(
            proof["leaf_index"],
            cp.tree_size,
            leaf_hash(entry_bytes),
            [bytes.fromhex(h) for h in proof["path"]],
        )
        assert root == cp.root, "the inclusion proof does not reach the checkpoint's root"
        log_pub = bytes.fromhex(z.read(LOG_KEY).decode().strip())
        assert fingerprint(log_pub) == manifest["log_key"]
        Ed25519PublicKey.from_public_bytes(log_pub).verify(cp.signature, cp.statement())
    return dict(manifest)


def test_a_staff_export_is_a_signed_package_proved_into_the_log(world: World) -> None:
    w = world
    out, path = _export(w, 12.52, 25.2)
    manifest = check_package(path)
    assert set(REQUIRED) <= set(manifest)
    assert manifest["format"] == FORMAT and manifest["kind"] == "export"
    assert manifest["purpose"] == PURPOSE and manifest["request"] is None
    assert manifest["system"]["name"] == "Custos" and manifest["system"]["version"]
    assert manifest["unit"]["name"]
    asked = w.range(12.52, 25.2)
    (cam,) = manifest["cameras"]
    assert cam["id"] == str(w.cameras[XIAN]) and cam["file"] == f"video/{cam['address_code']}.mp4"
    assert cam["range_delivered"] == manifest["range_asked"]
    assert manifest["range_asked"]["start"].startswith(asked["start"][:19])
    # Two segments used: the second cut from 2.52 s, the third to 5.2 s; their sealed hashes.
    sealed = {s.path: s.sha256 for s in w.container.recording.indexed()}
    assert [s["cut"] for s in manifest["sources"]] == [
        {"whole": False, "from_ms": 2520, "to_ms": None},
        {"whole": False, "from_ms": 0, "to_ms": 5200},
    ]
    assert all(sealed[s["path"]] == s["sha256"] for s in manifest["sources"])
    assert manifest["gaps"] == []
    # The register keeps the ZIP's hash; the log entry names the manifest's.
    reg = w.client.get(f"{API}/register", params={"kind": "export"}, headers=w.admin).json()
    assert [e["output_sha256"] for e in reg] == [out["sha256"]]
    assert manifest["register_entry_id"] == str(reg[0]["id"])


def test_the_video_starts_on_the_first_frame_asked_for(world: World, tmp_path: Path) -> None:
    """12.52 s is 0.52 s past a keyframe: the file starts at that keyframe (it must, to decode)
    but the edit list hides the 13 frames before the range, so the first frame shown is the one
    at 12.52 s, identical to the source frame there."""
    w = world
    _, path = _export(w, 12.52, 25.2)
    with zipfile.ZipFile(path) as z:
        (cam,) = json.loads(z.read(MANIFEST))["cameras"]
        video = tmp_path / "cut.mp4"
        video.write_bytes(z.read(cam["file"]))
    packets = _csv(
        "ffprobe", "-v", "error", "-select_streams", "v", "-show_packets",
        "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", str(video),
    )  # fmt: skip
    first_pts, flags = packets[0].split(",")
    assert flags.startswith("K") and float(first_pts) < 0  # the keyframe before, kept
    frames = _csv(
        "ffprobe", "-v", "error", "-select_streams", "v", "-show_frames",
        "-show_entries", "frame=pts_time", "-of", "csv=p=0", str(video),
    )  # fmt: skip
    assert abs(float(frames[0].split(",")[0])) < 0.04  # the first shown frame is at the range start
    assert len(frames) == round((25.2 - 12.52) * 25)  # and none past its end
    second = next(s for s in w.container.recording.indexed() if s.camera_id == w.cameras[XIAN]
                  and s.sequence == 1)  # fmt: skip
    source = w.container.settings.resolved_media_dir() / second.path
    assert _first_frame(video, None) == _first_frame(source, 2.52)


def _csv(*argv: str) -> list[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if line.strip()]


def _first_frame(path: Path, at_s: float | None) -> str:
    seek = ["-ss", f"{at_s:.3f}"] if at_s is not None else []
    argv = [
        "ffmpeg",
        "-v",
        "error",
        *seek,
        "-i",
        str(path),
        "-frames:v",
        "1",
        "-f",
        "framemd5",
        "-",
    ]
    return _csv(*argv)[-1].split(",")[-1].strip()


def test_an_executed_copy_grant_is_a_signed_package_naming_its_request(world: World) -> None:
    w = world
    req = approved_request(w, XIAN, "copy")
    r = post(w, f"/requests/{req['id']}/execute", "officer")
    assert r.status_code == 200, r.text
    manifest = check_package(_file(w, r.json()["sha256"]))
    assert manifest["kind"] == "copy"
    request = manifest["request"]
    assert request["organ"].startswith("西安市公安局雁塔分局") and request["legal_basis"]
    assert request["handlers"] and request["approver"]
    assert len(request["approval_sha256"]) == 64
    assert len(manifest["sources"]) == 3


def test_keys_are_public_and_rotation_keeps_old_packages_verifiable(world: World) -> None:
    w = world
    _, first = _export(w, 0, 10)
    listed = w.client.get(f"{API}/keys")  # no token: public
    assert listed.status_code == 200
    keys = listed.json()
    (old,) = [k for k in keys if k["kind"] == "export"]
    (log,) = [k for k in keys if k["kind"] == "log"]
    assert old["current"] and old["retired_at"] is None and old["created_at"]
    assert old["key_id"] == old["fingerprint"][:16] and log["fingerprint"] != old["fingerprint"]
    assert "private" not in listed.text

    made = w.container.keys.rotate_export(SYSTEM)
    _, second = _export(w, 10, 20)
    keys = w.client.get(f"{API}/keys").json()
    exports = {k["fingerprint"]: k for k in keys if k["kind"] == "export"}
    assert exports[old["fingerprint"]]["retired_at"] is not None
    assert exports[made.fingerprint]["current"]
    check_package(first, old["fingerprint"])  # the old package, by the retired key
    check_package(second, made.fingerprint)
    try:
        check_package(first, made.fingerprint)
    except AssertionError:
        pass
    else:
        raise AssertionError("a package verified against a key that did not sign it")


def test_a_tampered_manifest_fails_the_signature(world: World, tmp_path: Path) -> None:
    w = world
    _, path = _export(w, 0, 10)
    with zipfile.ZipFile(path) as z:
        body = bytearray(z.read(MANIFEST))
        sig = bytes.fromhex(z.read(SIGNATURE).decode().strip())
        pub = bytes.fromhex(z.read(EXPORT_KEY).decode().strip())
    body[body.index(b"export")] ^= 1
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, bytes(body))
    except InvalidSignature:
        return
    raise AssertionError("a changed manifest still verified")


def test_a_gap_stays_a_gap_on_the_timeline_and_is_listed(world: World, clip: Path) -> None:
    """Segments at 20–30 s and 60–70 s, range 25–65 s: one file of 40 s whose second part
    starts 35 s in, and the gap 30–60 s named in the manifest."""
    w = world
    assert w.footage_start is not None
    cam = w.cameras[XIAN]
    store = SegmentStore(w.container.settings.resolved_media_dir())
    path = store.run_dir(cam, "laterrun") / "000000.mp4"
    shutil.copyfile(clip, path)
    sealed = store.seal(path)
    start = w.footage_start + timedelta(seconds=60)
    w.container.recording.seal(
        Segment(
            None, cam, "laterrun", 0, store.relative(path), start, start + timedelta(seconds=10),
            10.0, sealed.bytes, sealed.sha256, "h264", 320, 240, w.container.clock.now(),
        )
    )  # fmt: skip
    _, package = _export(w, 25, 65)
    manifest = check_package(package)
    (gap,) = manifest["gaps"]
    assert (gap["start"][17:19], gap["end"][17:19], gap["reason"]) == ("30", "00", "not recorded")
    assert [s["cut"] for s in manifest["sources"]] == [
        {"whole": False, "from_ms": 5000, "to_ms": None},
        {"whole": False, "from_ms": 0, "to_ms": 5000},
    ]
    with zipfile.ZipFile(package) as z, tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "v.mp4"
        video.write_bytes(z.read(manifest["cameras"][0]["file"]))
        frames = [float(t.split(",")[0]) for t in _csv(
            "ffprobe", "-v", "error", "-select_streams", "v", "-show_frames",
            "-show_entries", "frame=pts_time", "-of", "csv=p=0", str(video),
        )]  # fmt: skip
    assert len(frames) == 250  # 5 s before the gap, 5 s after it
    assert abs(frames[0]) < 0.04 and abs(frames[125] - 35.0) < 0.04
