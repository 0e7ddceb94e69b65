"""The timed duties between two real ``custos serve --no-recorder`` processes on one PostgreSQL,
with the production lease (TTL 15 s, renewal 5 s; docs/design/cluster.md "Timed duties"): the
first holds every duty; SIGTERM hands them to the other within one renewal; kill -9 of that one
moves them only once its leases expire, within TTL + one renewal."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from custos.adapters.db.duty_lease_repositories import SqlDutyLeases
from custos.adapters.db.engine import make_engine
from custos.bootstrap import bootstrap
from custos.config import Settings
from custos.domain.duty_leases import DUTY_RENEW_EVERY_S, DUTY_TTL_S, Duty, DutyHolder
from tests.conftest import _truncate
from tests.ports import free_port

SLACK_S = 3.0  # a loaded two-core machine: statement and scheduling delays


def _wait(check: Callable[[], bool], timeout_s: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - start


class Server:
    def __init__(self, data_dir: Path, pg_url: str) -> None:
        self.port = free_port()
        env = os.environ | {"CUSTOS_DATA_DIR": str(data_dir), "CUSTOS_DATABASE_URL": pg_url}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "custos", "serve", "--no-recorder", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def serving(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"custos serve exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def holds_all(self, holders: list[DutyHolder]) -> bool:
        return len(holders) == len(Duty) and all(
            h.live and h.holder is not None and h.holder.split(":")[1] == str(self.proc.pid)
            for h in holders
        )

    def end(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


@pytest.fixture
def start(pg_url: str, tmp_path: Path) -> Iterator[Callable[[str], Server]]:
    seed = bootstrap(Settings(data_dir=tmp_path / "seed", database_url=pg_url))
    _truncate(seed.engine)  # the keys every server shares are made here
    seed.close()
    started: list[Server] = []

    def make(name: str) -> Server:
        if not (tmp_path / name).exists():
            shutil.copytree(tmp_path / "seed" / "keys", tmp_path / name / "keys")
        s = Server(tmp_path / name, pg_url)
        started.append(s)
        return s

    yield make
    for s in started:
        s.end()


@pytest.mark.slow
def test_duties_move_between_real_servers_on_sigterm_and_on_kill(
    start: Callable[[str], Server], pg_url: str
) -> None:
    engine = make_engine(pg_url)
    leases = SqlDutyLeases(engine)
    try:
        a = start("a")
        _wait(lambda: a.holds_all(leases.holders()), 90)
        b = start("b")
        _wait(b.serving, 90)
        time.sleep(DUTY_RENEW_EVERY_S + 1)  # b has tried to claim at least once
        assert a.holds_all(leases.holders())

        a.proc.send_signal(signal.SIGTERM)  # stops: its leases are released
        took = _wait(lambda: b.holds_all(leases.holders()), DUTY_TTL_S)
        print(f"duties moved {took:.1f} s after SIGTERM")  # shown with -s
        assert took <= DUTY_RENEW_EVERY_S + SLACK_S, f"{took:.1f} s after SIGTERM"
        assert a.proc.wait(30) == 0 or a.proc.returncode == -signal.SIGTERM

        a2 = start("a")
        _wait(a2.serving, 90)
        last = max(h.expires_at for h in leases.holders())
        b.proc.kill()  # dies: its leases stay until they expire
        b.proc.wait(30)
        ended = max(h.expires_at for h in leases.holders())  # one more renewal may have landed
        took = _wait(lambda: a2.holds_all(leases.holders()), DUTY_TTL_S + DUTY_RENEW_EVERY_S + 30)
        granted = [h.granted_at for h in leases.holders()]
        assert all(g is not None and g >= max(last, ended) for g in granted)
        print(f"duties moved {took:.1f} s after kill -9")
        assert took <= DUTY_TTL_S + DUTY_RENEW_EVERY_S + SLACK_S, f"{took:.1f} s after kill -9"
    finally:
        engine.dispose()
