"""No local state a second API server would miss (docs/design/cluster.md, "Stateless servers"):
with an object store configured, uploaded documents and export packages are copied into it,
and another server, with its own empty data directory, reads them back, verified by hash.
Real SeaweedFS; the two servers share one PostgreSQL."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custos.adapters.storage.documents import DocumentStore
from custos.adapters.storage.object_store import DOCUMENT_FOLDER, EXPORT_FOLDER
from custos.adapters.storage.shared_files import SharedFiles
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.entrypoints.api.app import create_app
from tests.api.access_world import XIAN, build_world
from tests.api.builders import API
from tests.integration.objectstore.conftest import Target

PURPOSE = "核查顾客投诉 (customer complaint 17)"


@pytest.fixture
def second(container: Container, tmp_path: Path, pg_url: str) -> Iterator[Container]:
    """Another server on the same database and bucket: its own data directory, the keys
    copied (as an operator deploys them), nothing else."""
    shutil.copytree(container.settings.data_dir / "keys", tmp_path / "second" / "keys")
    other = bootstrap(
        Settings(data_dir=tmp_path / "second", database_url=pg_url), clock=container.clock
    )
    yield other
    other.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_export_made_on_one_server_downloads_from_another(
    client: TestClient, container: Container, admin: dict[str, str], clip: Path,
    second: Container, s3: Target,
) -> None:  # fmt: skip
    w = build_world(client, container, admin, clip)
    manager = w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(0, 25), "purpose": PURPOSE}
    r = client.post(f"{API}/exports", json=body, headers=manager)
    assert r.status_code == 201, r.text
    export_id, sha256 = r.json()["id"], r.json()["sha256"]
    with container.uow() as uow:
        package = uow.exports.get(export_id)
    assert package is not None
    assert s3.store().stat(s3.key(EXPORT_FOLDER + package.path)) is not None
    assert not (second.settings.data_dir / "exports" / package.path).exists()
    with TestClient(create_app(second)) as other:
        got = other.get(f"{API}/exports/{export_id}/file", headers=manager)
        assert got.status_code == 200, got.text
        assert hashlib.sha256(got.content).hexdigest() == sha256
        sheet = other.get(f"{API}/exports/{export_id}/custody.pdf", headers=manager)
        assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")
    # the store's copies are not segments: custos check does not call them unindexed
    assert not any(k.startswith(s3.prefix + EXPORT_FOLDER) for k in s3.store().list_keys())


@pytest.mark.parametrize("s3", ["plain"], indirect=True)
def test_a_document_stored_on_one_server_is_read_on_another_only_if_it_hashes(
    s3: Target, tmp_path: Path
) -> None:
    store = s3.store()
    one = DocumentStore(tmp_path / "one", SharedFiles(store, DOCUMENT_FOLDER, "application/pdf"))
    two = DocumentStore(tmp_path / "two", SharedFiles(store, DOCUMENT_FOLDER, "application/pdf"))
    digest = one.put(b"%PDF-1.7 approval of request 12")
    assert two.read(digest) == b"%PDF-1.7 approval of request 12"
    assert (tmp_path / "two" / digest[:2] / digest).exists()  # kept here from now on
    assert one.put(b"%PDF-1.7 approval of request 12") == digest  # the same again: fine
    assert not any(k.startswith(s3.prefix + DOCUMENT_FOLDER) for k in store.list_keys())

    other = hashlib.sha256(b"another document").hexdigest()
    key = s3.key(f"{DOCUMENT_FOLDER}{other[:2]}/{other}")
    s3.raw().put_object(Bucket=s3.bucket, Key=key, Body=b"not what its name says")
    three = DocumentStore(tmp_path / "three", SharedFiles(store, DOCUMENT_FOLDER, "text/plain"))
    assert three.read(other) is None  # a copy that does not hash to its name is never served
    assert not (tmp_path / "three" / other[:2] / other).exists()
    assert three.read(hashlib.sha256(b"never stored").hexdigest()) is None
