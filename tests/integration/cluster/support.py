"""Real parts for the cluster's failure tests: a private PostgreSQL (so a test may restart it
without touching the machine's), a TCP proxy that can cut one node off from it, and recorder
nodes as ``custos recorder --node`` processes (docs/design/cluster.md, "Failures")."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.ports import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
CLUSTER_SECRET = "test-cluster-secret-" + "0123456789abcdef" * 2  # the nodes' media servers


def wait_until(check: Callable[[], bool], timeout_s: float, step_s: float = 0.25) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(step_s)
    return time.monotonic() - start


class PrivatePostgres:
    """A PostgreSQL cluster of its own in a temporary directory, run as the ``postgres`` user
    (PostgreSQL refuses root); trust authentication on 127.0.0.1 only."""

    def __init__(self, root: Path) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.fail(f"PostgreSQL's server binaries are needed in {PG_BIN}")
        # outside pytest's temporary tree, which only root may enter
        self._root = Path(tempfile.mkdtemp(prefix="custos-pg-"))
        self.dir = self._root / "data"
        self.port = free_port()
        self.log = self._root / "pg.log"
        self._user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url_via(self, port: int) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *argv: str) -> None:
        cmd = [str(PG_BIN / argv[0]), *argv[1:]]
        if self._user is not None:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        for p in (self.dir.parent, self.dir):
            p.mkdir(parents=True, exist_ok=True)
            if self._user is not None:
                os.chown(p, self._user.pw_uid, self._user.pw_gid)
        self.log.touch()
        if self._user is not None:
            os.chown(self.log, self._user.pw_uid, self._user.pw_gid)
        self._run("initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self._root, ignore_errors=True)


class PgProxy:
    """Forwards TCP to PostgreSQL until :meth:`partition`: then it forwards nothing, in either
    direction, on open connections or new ones — they hang, as over a network that drops
    packets — until :meth:`heal`, when what waited goes through."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.port = free_port()
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.5)
        threading.Thread(target=self._accept, daemon=True).start()

    def partition(self) -> None:
        self._flowing.clear()

    def heal(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        self._flowing.wait()
        try:
            up = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            conn.close()
            return
        threading.Thread(target=self._pump, args=(conn, up), daemon=True).start()
        self._pump(up, conn)

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                self._flowing.wait()
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            src.close()  # the other pump closes dst


class NodeProcess:
    """``custos recorder --node NAME`` with its own data directory (its own disk)."""

    def __init__(self, name: str, root: Path, database_url: str, segment_s: int) -> None:
        self.name = name
        self.data_dir = root / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.segment_s = segment_s
        self.log = self.data_dir / "recorder.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def media(self) -> Path:
        return self.data_dir / "media"

    def start(self) -> None:
        env = os.environ | {
            "CUSTOS_DATA_DIR": str(self.data_dir),
            "CUSTOS_DATABASE_URL": self.database_url,
            "CUSTOS_RECORDER_METRICS_PORT": "0",
            "CUSTOS_CLUSTER_SECRET": CLUSTER_SECRET,
        }
        argv = [sys.executable, "-m", "custos", "recorder", "--node", self.name]
        argv += ["--segment-seconds", str(self.segment_s), "--capacity", "100"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def tail(self, lines: int = 40) -> str:
        text_ = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text_.splitlines()[-lines:])

    def check(self, rehash: bool = True) -> subprocess.CompletedProcess[str]:
        """``custos check --node NAME`` on this node's data directory."""
        env = os.environ | {
            "CUSTOS_DATA_DIR": str(self.data_dir),
            "CUSTOS_DATABASE_URL": self.database_url,
        }
        argv = [sys.executable, "-m", "custos", "check", "--node", self.name, "--json"]
        if rehash:
            argv.append("--hash")
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


class Index:
    """Reads the cluster's tables directly (what the tests assert on)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)

    def rows(self, sql: str, **params: object) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params).all()]

    def holders(self) -> dict[int, str | None]:
        return dict(self.rows("SELECT camera_id, holder FROM camera_leases"))

    def overlapping(self) -> list[tuple[Any, ...]]:
        """Pairs of indexed segments of one camera, from two runs (two nodes, or one node's
        two connections), whose times overlap. Consecutive segments of one run may share a few
        milliseconds (each start is its end less its media duration, and one writer's files
        meet at a frame): that is one connection's footage, not two recordings of an instant."""
        return self.rows(
            "SELECT a.camera_id, a.node, a.path, a.start_at, a.end_at, b.node, b.path,"
            " b.start_at, b.end_at FROM segments a JOIN segments b ON a.camera_id = b.camera_id"
            " AND a.id < b.id AND a.run_id <> b.run_id"
            " AND a.start_at < b.end_at AND b.start_at < a.end_at"
        )

    def close(self) -> None:
        self.engine.dispose()
