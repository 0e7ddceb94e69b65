"""A replicated SeaweedFS on one machine, for tests and a demo: one master, N volume servers and a
filer with the S3 gateway, each a ``weed`` process of its own, every port on 127.0.0.1 and derived
from the S3 port (:class:`custos.adapters.storage.seaweedfs.Ports`)::

    S3 P   master P+1   volume 1 P+2   filer P+3   volume k>=2 P+2+k   and each gRPC port +10000

Data and logs under the store's directory: ``master/``, ``volume-K/``, ``filer/``, ``<name>.log``.
The master writes every new volume with the cluster's replication (``-defaultReplication``);
the volume servers are labelled with a data centre and a rack (:func:`placement`) so that it can
be met. See docs/design/storage.md, "Replicated".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from custos.adapters.storage.seaweedfs import (
    GRPC_OFFSET,
    Ports,
    ports_free,
    stop,
    wait_for_s3,
    weed_binary,
    write_identity,
)
from custos.services.object_replication import copies_required

_POLL_S = 0.5


def placement(replication: str, volumes: int) -> list[tuple[str, str]]:
    """(data centre, rack) of each volume server: the first Z+1 in dc1/rack1, the next Y each in
    a rack of its own, the next X each in a data centre of its own, the rest in dc1/rack1.
    ValueError when ``volumes`` cannot hold ``replication`` (X+Y+Z+1 servers at least)."""
    need = copies_required(replication)
    if volumes < need:
        raise ValueError(
            f"replication {replication} needs at least {need} volume servers, not {volumes}"
        )
    x, y, z = (int(d) for d in replication)
    where = [("dc1", "rack1")] * (z + 1)
    where += [("dc1", f"rack{2 + i}") for i in range(y)]
    where += [(f"dc{2 + i}", "rack1") for i in range(x)]
    return where + [("dc1", "rack1")] * (volumes - len(where))


class LocalCluster:
    """Checked, started, awaited, supervised and stopped by ``custos objectstore serve
    --volumes N``; the tests also stop and start single volume servers (:meth:`kill_volume`,
    :meth:`start_volume`). ``preexec_fn`` runs in each child before ``exec`` (e.g. to make it die
    with the thread that starts it); ``notify`` gets a line when a volume server exits or is
    started again."""

    def __init__(
        self,
        store_dir: Path,
        s3_port: int,
        volumes: int,
        replication: str,
        volume_size_mb: int = 1024,
        restart_after_s: float = 10.0,
        preexec_fn: Callable[[], None] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.ports = Ports(s3_port, volumes)  # ValueError when they do not fit
        self.replication = replication
        self._where = placement(replication, volumes)  # ValueError when it cannot be met
        self.store_dir = store_dir
        self.endpoint = f"http://127.0.0.1:{s3_port}"
        self.master_url = f"http://127.0.0.1:{self.ports.master}"
        self._volume_size_mb = volume_size_mb
        self._restart_after_s = restart_after_s
        self._preexec_fn = preexec_fn
        self._notify = notify or (lambda line: None)
        self._weed: Path | None = None
        self._identity: Path | None = None
        self._master: subprocess.Popen[bytes] | None = None
        self._filer: subprocess.Popen[bytes] | None = None
        self._volumes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def volumes(self) -> int:
        return self.ports.volumes

    def check(self) -> None:
        """FileNotFoundError without a ``weed``; ValueError when the directory holds a
        one-process store or a port it needs is taken."""
        weed_binary()
        if (self.store_dir / "store").exists():
            raise ValueError(
                f"{self.store_dir} holds a one-process store: start it without --volumes,"
                " or use another --dir"
            )
        if not ports_free(self.ports):
            raise ValueError(f"ports {self.ports.all()} are not all free on 127.0.0.1")

    # ---- starting ------------------------------------------------------------------------------
    def start(self, access_key: str, secret_key: str) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._weed = weed_binary()
        self._identity = write_identity(self.store_dir, access_key, secret_key)
        self._master = self._spawn("master", self._master_argv())
        for i in range(1, self.volumes + 1):
            self.start_volume(i)
        self._filer = self._spawn("filer", self._filer_argv())

    def start_volume(self, index: int) -> None:
        """Start volume server ``index`` (1-based) on its own directory (again, after it died)."""
        proc = self._volumes.get(index)
        if proc is not None and proc.poll() is None:
            raise RuntimeError(f"volume server {index} is running")
        self._volumes[index] = self._spawn(f"volume-{index}", self._volume_argv(index))

    def kill_volume(self, index: int) -> None:
        """SIGKILL volume server ``index``, as a crash or a power cut would (for the tests)."""
        proc = self._volumes[index]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def volume_pid(self, index: int) -> int:
        return self._volumes[index].pid

    def volume_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports.volume_at(index)}"

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Until every volume server has registered with the master and S3 answers
        (RuntimeError if a process exits first, TimeoutError after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while self.registered() < self.volumes:
            self._all_running()
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.registered()} of {self.volumes} volume servers registered with the"
                    f" master within {timeout_s:.0f} s"
                )
            time.sleep(0.2)
        wait_for_s3(self.endpoint, self._filer, max(1.0, deadline - time.monotonic()))

    def registered(self) -> int:
        """How many volume servers the master knows now (0 if it does not answer)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.master_url}/dir/status", timeout=2) as r:
                topology = json.loads(r.read(8 << 20))["Topology"]
        except (OSError, ValueError, KeyError, TypeError):
            return 0
        return sum(
            len(rack.get("DataNodes") or [])
            for dc in topology.get("DataCenters") or []
            for rack in dc.get("Racks") or []
        )

    # ---- running -------------------------------------------------------------------------------
    def wait(self) -> int:
        """Supervise until the master or the filer exits (its exit status): a volume server that
        exits is started again after ``restart_after_s`` (0: left down)."""
        down_since: dict[int, float] = {}
        while True:
            for proc in (self._master, self._filer):
                if proc is not None and proc.poll() is not None:
                    return proc.returncode
            for i, proc in list(self._volumes.items()):
                if proc.poll() is None:
                    continue
                if i not in down_since:
                    down_since[i] = time.monotonic()
                    again = (
                        f"starting it again in {self._restart_after_s:g} s"
                        if self._restart_after_s > 0
                        else "left down (--restart-after 0)"
                    )
                    self._notify(f"volume server {i} exited with {proc.returncode}; {again}")
                elif 0 < self._restart_after_s <= time.monotonic() - down_since[i]:
                    self.start_volume(i)
                    del down_since[i]
                    self._notify(f"volume server {i} started again (pid {self.volume_pid(i)})")
            time.sleep(_POLL_S)

    def stop(self, grace_s: float = 10.0) -> None:
        """The filer first (it writes through the volume servers), then the volume servers, then
        the master; each SIGTERM, then SIGKILL after ``grace_s`` (4.48's filer often lingers)."""
        if self._filer is not None:
            stop(self._filer, grace_s)
        for proc in self._volumes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self._volumes.values():
            stop(proc, grace_s)
        if self._master is not None:
            stop(self._master, grace_s)

    # ---- internals ------------------------------------------------------------------------------
    def _all_running(self) -> None:
        named = {"master": self._master, "filer": self._filer}
        named |= {f"volume server {i}": p for i, p in self._volumes.items()}
        for name, proc in named.items():
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"weed {name} exited with {proc.returncode} while starting")

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        (self.store_dir / name).mkdir(parents=True, exist_ok=True)
        with (self.store_dir / f"{name}.log").open("ab") as logf:
            return subprocess.Popen(  # noqa: S603 - our own argv
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                preexec_fn=self._preexec_fn,
            )

    def _master_address(self) -> str:
        # ip:port.grpcPort: SeaweedFS's way of naming a server with its gRPC port
        return f"127.0.0.1:{self.ports.master}.{self.ports.master + GRPC_OFFSET}"

    def _master_argv(self) -> list[str]:
        p = self.ports.master
        return [
            str(self._weed), "master", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-port={p}", f"-port.grpc={p + GRPC_OFFSET}", f"-mdir={self.store_dir / 'master'}",
            f"-defaultReplication={self.replication}",
            f"-volumeSizeLimitMB={self._volume_size_mb}", "-telemetry=false",
        ]  # fmt: skip

    def _volume_argv(self, index: int) -> list[str]:
        p = self.ports.volume_at(index)
        dc, rack = self._where[index - 1]
        return [
            str(self._weed), "volume", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-port={p}", f"-port.grpc={p + GRPC_OFFSET}",
            f"-dir={self.store_dir / f'volume-{index}'}", "-max=0",
            f"-master={self._master_address()}", f"-dataCenter={dc}", f"-rack={rack}",
            "-preStopSeconds=1",  # stopped with the rest: no draining to wait for
        ]  # fmt: skip

    def _filer_argv(self) -> list[str]:
        p, s3 = self.ports.filer, self.ports.s3
        return [
            str(self._weed), "filer", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-port={p}", f"-port.grpc={p + GRPC_OFFSET}", f"-master={self._master_address()}",
            f"-defaultStoreDir={self.store_dir / 'filer'}",
            "-s3", "-s3.ip.bind=127.0.0.1", f"-s3.port={s3}", f"-s3.port.grpc={s3 + GRPC_OFFSET}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={self._identity}",
        ]  # fmt: skip
