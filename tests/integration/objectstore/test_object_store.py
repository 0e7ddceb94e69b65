"""Sealed segments in a real SeaweedFS: upload with the hash, never overwrite, read back when the
local file is gone, and ``custos check`` finding tampered and missing objects — on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from fastapi.testclient import TestClient

from custos.adapters.storage.object_store import ObjectExistsError, ObjectLockedError
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.recording import Segment
from custos.entrypoints.cli.main import main
from custos.recorder.reconcile import check
from custos.services.offload import OffloadService
from tests.api.access_world import XIAN, World, build_world
from tests.api.builders import API
from tests.integration.objectstore.conftest import Target

PURPOSE = "核查顾客投诉 (customer complaint 17)"


def offload(c: Container) -> OffloadService:
    assert c.offload is not None
    return c.offload


def indexed(c: Container) -> list[Segment]:
    return sorted(c.recording.indexed(), key=lambda s: s.id or 0)


def audit_actions(c: Container) -> list[str]:
    with c.uow() as uow:
        return [e.action for _, e in uow.audit.find(limit=100_000)]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def world(client: TestClient, container: Container, admin: dict[str, str], clip: Path) -> World:
    """Five cameras × three sealed 10-s segments, all uploaded to the bucket."""
    w = build_world(client, container, admin, clip)
    report = offload(container).run_once(100)
    assert len(report.uploaded) == 15 and not (report.failed or report.refused), report
    return w


def test_sealed_segments_are_uploaded_with_their_hash_and_locked(
    world: World, container: Container, s3: Target
) -> None:
    store = s3.store()
    records = {r.segment_id: r for r in offload(container).records()}
    for seg in indexed(container):
        info = store.stat(s3.key(seg.path))
        assert info is not None
        assert (info.bytes, info.sha256) == (seg.bytes, seg.sha256)
        assert info.lock_mode == "COMPLIANCE"
        assert info.retain_until is not None
        assert abs(info.retain_until - (seg.start_at + timedelta(days=30))) < timedelta(seconds=1)
        assert seg.id is not None
        rec = records[seg.id]
        assert (rec.key, rec.sha256, rec.bytes) == (s3.key(seg.path), seg.sha256, seg.bytes)
        assert rec.version_id == info.version_id
    assert audit_actions(container).count("segment.offload") == 15
    assert offload(container).run_once(100).uploaded == []  # nothing twice

    # Object Lock: the stored version cannot be deleted, by Custos or by a raw client
    first = indexed(container)[0]
    assert first.id is not None
    with pytest.raises(ClientError) as denied:
        s3.raw().delete_object(
            Bucket=s3.bucket, Key=s3.key(first.path), VersionId=records[first.id].version_id
        )
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ObjectLockedError):
        store.delete(s3.key(first.path))
    assert store.hash_of(s3.key(first.path)) == first.sha256

    report = check(container.recording, _files(container), objects=offload(container))
    assert report.clean and report.objects_checked and report.objects_pending == 0


def test_an_existing_object_is_never_overwritten(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    clip: Path,
    s3: Target,
    tmp_path: Path,
) -> None:
    w = build_world(client, container, admin, clip)
    assert w.cameras
    impostor, other = indexed(container)[:2]
    raw = s3.raw()
    raw.put_object(Bucket=s3.bucket, Key=s3.key(impostor.path), Body=b"not the segment")

    report = offload(container).run_once(100)
    assert report.refused == [impostor.path]
    assert len(report.uploaded) == 14
    store = s3.store()
    assert store.hash_of(s3.key(impostor.path)) == sha(b"not the segment")  # left as it was
    assert impostor.id not in {r.segment_id for r in offload(container).records()}
    assert "segment.offload_refused" in audit_actions(container)
    assert offload(container).run_once(100).refused == []  # refused once, not every pass

    # the adapter itself: other content under a taken key is refused; the same is a no-op
    local = container.settings.resolved_media_dir() / other.path
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"other content")
    with pytest.raises(ObjectExistsError):
        store.upload(s3.key(other.path), junk, sha(b"other content"), junk.stat().st_size)
    again = store.upload(s3.key(other.path), local, other.sha256, other.bytes)
    assert again.sha256 == other.sha256
    versions = raw.list_object_versions(Bucket=s3.bucket, Prefix=s3.key(other.path))["Versions"]
    assert len(versions) == 1  # no second version was written
    # and the put itself is conditional: the gateway refuses If-None-Match on a taken key
    with pytest.raises(ClientError) as taken:
        raw.put_object(Bucket=s3.bucket, Key=s3.key(other.path), Body=b"x", IfNoneMatch="*")
    assert taken.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_playback_and_export_read_from_the_store_when_the_file_is_gone(
    world: World, container: Container, s3: Target
) -> None:
    w = world
    cam = w.cameras[XIAN]
    segs = [s for s in indexed(container) if s.camera_id == cam]
    media = container.settings.resolved_media_dir()
    for s in segs:
        (media / s.path).unlink()
    manager = w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)

    body = {"camera_ids": [cam], **w.range(0, 30), "purpose": PURPOSE}
    r = w.client.post(f"{API}/playback/sessions", json=body, headers=manager)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    listed = w.client.get(
        f"{API}/sessions/{sid}/segments",
        params={"camera_id": cam, **w.range(0, 30)},
        headers=manager,
    ).json()
    assert [s["id"] for s in listed] == [s.id for s in segs]
    for s in segs:
        got = w.client.get(f"{API}/sessions/{sid}/segments/{s.id}/media", headers=manager)
        assert got.status_code == 200, got.text
        assert sha(got.content) == s.sha256

    # someone overwrites the key through S3: the recorded (locked) version is still served
    s3.raw().put_object(Bucket=s3.bucket, Key=s3.key(segs[0].path), Body=b"tampered")
    for cached in (container.settings.data_dir / "object-cache").rglob("*.mp4"):
        cached.unlink()
    got = w.client.get(f"{API}/sessions/{sid}/segments/{segs[0].id}/media", headers=manager)
    assert got.status_code == 200 and sha(got.content) == segs[0].sha256

    body = {"camera_ids": [cam], **w.range(0, 25), "purpose": PURPOSE}
    r = w.client.post(f"{API}/exports", json=body, headers=manager)
    assert r.status_code == 201, r.text
    d = w.client.get(f"{API}/exports/{r.json()['id']}/file", headers=manager)
    assert d.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(d.content))
    manifest = json.loads(z.read("manifest.json"))
    # custos-evidence/1: the three sealed segments, read from the store, cut into one file
    assert [s["sha256"] for s in manifest["sources"]] == [s.sha256 for s in segs]
    assert [s["cut"]["whole"] for s in manifest["sources"]] == [True, True, False]
    (camera,) = manifest["cameras"]
    video = z.read(camera["file"])
    assert video[4:8] == b"ftyp"  # it decodes: an MP4 with all of the range
    listed = next(f for f in manifest["files"] if f["name"] == camera["file"])
    assert sha(video) == listed["sha256"] and len(video) > 2 * segs[0].bytes


@pytest.mark.parametrize("s3", ["plain"], indirect=True)
def test_without_object_lock_a_copy_that_differs_from_the_index_is_not_served(
    world: World, container: Container, s3: Target
) -> None:
    w = world
    store = s3.store()
    assert not store.locking()
    seg = next(s for s in indexed(container) if s.camera_id == w.cameras[XIAN])
    info = store.stat(s3.key(seg.path))
    assert info is not None and info.sha256 == seg.sha256 and info.lock_mode is None
    (container.settings.resolved_media_dir() / seg.path).unlink()
    s3.raw().put_object(  # no lock: S3 itself lets this through
        Bucket=s3.bucket, Key=s3.key(seg.path), Body=b"x" * seg.bytes,
        Metadata={"sha256": seg.sha256},
    )  # fmt: skip
    manager = w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)
    body = {"camera_ids": [seg.camera_id], **w.range(0, 30), "purpose": PURPOSE}
    sid = w.client.post(f"{API}/playback/sessions", json=body, headers=manager).json()["id"]
    got = w.client.get(f"{API}/sessions/{sid}/segments/{seg.id}/media", headers=manager)
    assert got.status_code == 409, got.text
    assert "does not match its indexed SHA-256" in got.json()["errors"][0]["reason"]
    assert not list((container.settings.data_dir / "object-cache").rglob("*.mp4"))
    # same size, same metadata: only re-hashing the bytes finds it
    quick = offload(container).check(indexed(container))
    assert quick.clean
    full = offload(container).check(indexed(container), rehash=True)
    assert full.object_content_mismatch == [s3.key(seg.path)]


def test_check_reports_tampered_missing_and_stray_objects(
    world: World,
    container: Container,
    s3: Target,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resized, rewritten, deleted = indexed(container)[:3]
    raw = s3.raw()
    bucket = s3.bucket
    raw.put_object(
        Bucket=bucket, Key=s3.key(resized.path), Body=b"junk", Metadata={"sha256": sha(b"junk")}
    )
    data = bytearray((container.settings.resolved_media_dir() / rewritten.path).read_bytes())
    data[-1] ^= 0xFF  # same size, metadata copied: only the bytes differ
    raw.put_object(
        Bucket=bucket,
        Key=s3.key(rewritten.path),
        Body=bytes(data),
        Metadata={"sha256": rewritten.sha256},
    )
    raw.delete_object(Bucket=bucket, Key=s3.key(deleted.path))  # a delete marker hides it
    raw.put_object(Bucket=bucket, Key=s3.key("99/stray/000001.mp4"), Body=b"stray")

    report = check(container.recording, _files(container), objects=offload(container))
    assert report.missing_objects == [s3.key(deleted.path)]
    assert report.object_size_mismatch == [s3.key(resized.path)]
    assert report.object_hash_mismatch == [] and report.object_content_mismatch == []
    assert report.unindexed_objects == [s3.key("99/stray/000001.mp4")]
    assert not report.clean and not report.missing_files

    # `custos check --hash`, as an operator runs it
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(container.settings.data_dir))
    if container.settings.database_url:
        monkeypatch.setenv("CUSTOS_DATABASE_URL", container.settings.database_url)
    result = CliRunner().invoke(main, ["check", "--hash", "--json"])
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    assert out["clean"] is False and out["objects_checked"] is True
    assert out["missing_objects"] == [s3.key(deleted.path)]
    assert out["object_size_mismatch"] == [s3.key(resized.path)]
    assert out["object_content_mismatch"] == [s3.key(rewritten.path)]
    assert out["unindexed_objects"] == [s3.key("99/stray/000001.mp4")]
    assert out["missing_files"] == [] and out["hash_mismatch"] == []
    text = CliRunner().invoke(main, ["check"])
    assert text.exit_code == 1
    assert f"missing object: {s3.key(deleted.path)}" in text.output
    assert f"object size differs: {s3.key(resized.path)}" in text.output


def _files(c: Container) -> SegmentStore:
    return SegmentStore(c.settings.resolved_media_dir())


def test_the_secret_key_is_never_in_a_repr(s3: Target) -> None:
    settings = Settings()  # from the CUSTOS_S3_* variables the fixtures set
    secret = s3.seaweed.secret_key
    assert settings.s3_secret_key is not None
    assert settings.s3_secret_key.get_secret_value() == secret
    assert secret not in repr(settings) and secret not in str(settings)
    assert secret not in repr(s3.store())


@pytest.mark.parametrize("s3", ["plain"], indirect=True)
def test_the_purge_deletes_the_stored_copy_with_the_file(
    world: World, container: Container, s3: Target
) -> None:
    from custos.domain.clock import ManualClock

    cam = world.cameras[XIAN]
    segs = [s for s in indexed(container) if s.camera_id == cam]
    clock = container.clock
    assert isinstance(clock, ManualClock)
    days = container.retention.policy_for(cam).days
    clock.set(max(s.end_at for s in segs) + timedelta(days=days, seconds=1))
    report = container.retention.purge()
    assert set(report.deleted) >= {s.id for s in segs}
    store = s3.store()
    assert all(store.stat(s3.key(s.path)) is None for s in segs)
    assert all(s.camera_id != cam for s in indexed(container))


def test_a_locked_copy_keeps_its_segment_until_the_lock_ends(
    world: World, container: Container, s3: Target
) -> None:
    # The lock runs on the object store's own clock (the real one), 30 days from each segment's
    # start; the injected clock here moves past retention while the lock still holds.
    from custos.domain.clock import ManualClock

    cam = world.cameras[XIAN]
    segs = [s for s in indexed(container) if s.camera_id == cam]
    clock = container.clock
    assert isinstance(clock, ManualClock)
    days = container.retention.policy_for(cam).days
    clock.set(max(s.end_at for s in segs) + timedelta(days=days, seconds=1))
    container.retention.purge()
    assert {s.id for s in segs} <= {s.id for s in indexed(container)}
    with container.uow() as uow:
        assert {g.segment_id for g in uow.garbage.find()} >= {s.id for s in segs}
    assert all(s3.store().hash_of(s3.key(s.path)) == s.sha256 for s in segs)
    container.retention.purge()  # again: the rows wait, nothing is marked twice
    assert {s.id for s in segs} <= {s.id for s in indexed(container)}
