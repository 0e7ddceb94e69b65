"""The bureau as a witness, end to end: two Custos on loopback. The bureau's (SQLite, served by
uvicorn) registers the unit's log key; the unit's (SQLite and PostgreSQL) witness passes hand
its checkpoints over HTTP; after a rollback of the unit's log ``custos audit verify --witness
<bureau URL>`` names the first contradicted checkpoint, and passes without one. The bureau being
down never stops the unit's log, and the next pass catches up."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.clock import ManualClock
from custos.domain.users import SYSTEM
from custos.entrypoints.api.app import create_app
from tests.api.builders import PASSWORD
from tests.conftest import START
from tests.integration.audit_support import EVERY, fill
from tests.integration.test_audit_cli import custos
from tests.integration.test_audit_witness import public_key, roll_back, witness_file
from tests.ports import free_port


class Bureau:
    """The bureau's Custos, served on a loopback port until stopped (and startable again)."""

    def __init__(self, container: Container, port: int) -> None:
        self.container = container
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            create_app(self.container),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self._server.started, "the bureau's uvicorn did not start"

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            assert not self._thread.is_alive()
        self._server = self._thread = None

    def register(self, key_hex: str) -> None:
        """A supervisor registers the unit's log key, over HTTP."""
        self.container.auth.create_user(SYSTEM, "supervisor", Role.SUPERVISOR, PASSWORD, None)
        with httpx.Client(base_url=self.url, timeout=10) as http:
            login = {"username": "supervisor", "password": PASSWORD}
            token = http.post("/api/v1/auth/login", json=login).json()["access_token"]
            body = {"name": "某单位视频监控系统", "public_key_pem": key_hex}
            headers = {"Authorization": f"Bearer {token}"}
            r = http.post("/api/v1/witness/senders", json=body, headers=headers)
            assert r.status_code == 201, r.text

    def conflicts(self) -> list[dict[str, object]]:
        with self.container.uow() as uow:
            entries = uow.audit.find(limit=10_000)
        return [e.detail for _, e in entries if e.action == "witness.checkpoint.conflict"]


@pytest.fixture
def bureau(tmp_path: Path, sqlite_template: Path) -> Iterator[Bureau]:
    data = tmp_path / "bureau"
    data.mkdir()
    shutil.copyfile(sqlite_template, data / sqlite_template.name)
    c = bootstrap(Settings(data_dir=data), clock=ManualClock(START))
    b = Bureau(c, free_port())
    yield b
    b.stop()
    c.close()


def unit_of(container: Container, clock: ManualClock, bureau_url: str) -> Container:
    """The unit's Custos: checkpoints every 10 entries, the bureau among its witnesses."""
    settings = container.settings.model_copy(
        update={"audit_checkpoint_every": EVERY, "audit_witness_url": bureau_url}
    )
    return bootstrap(settings, clock=clock)


def key_hex(c: Container) -> str:
    return Path(public_key(c)).read_text().strip()


@pytest.fixture
def witnessed(container: Container, clock: ManualClock, bureau: Bureau) -> Iterator[Container]:
    """25 entries (checkpoints 1, 11, 21) and 20 more (31, 41), each lot handed to the file and
    to the bureau."""
    bureau.start()
    bureau.register(key_hex(container))
    unit = unit_of(container, clock, bureau.url)
    assert unit.witnesses is not None
    fill(unit, clock, 25, per_transaction=5)
    done = unit.witnesses.hand_over()
    assert done.failed == {}
    assert done.handed[f"bureau {bureau.url}"] == 3
    fill(unit, clock, 20, per_transaction=5)
    assert unit.witnesses.hand_over().handed[f"bureau {bureau.url}"] == 2
    yield unit
    unit.close()


def test_the_bureau_holds_every_committed_checkpoint_and_the_untouched_log_passes(
    witnessed: Container, bureau: Bureau
) -> None:
    with witnessed.uow() as uow:
        stored = uow.audit.checkpoints()
    r = httpx.get(f"{bureau.url}/api/v1/witness/checkpoints", params={"key_id": stored[0].key_id})
    page = r.json()
    assert page["newest_tree_size"] == 41
    assert [c["checkpoint"]["tree_size"] for c in page["checkpoints"]] == [1, 11, 21, 31, 41]
    assert witnessed.witnesses is not None
    again = witnessed.witnesses.hand_over()
    assert again.handed[f"bureau {bureau.url}"] == 0  # never twice

    r = custos(witnessed, "verify", "--public-key", public_key(witnessed), "--witness", bureau.url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (
        "WITNESSED: the log extends 5 witnessed checkpoints; the newest is witnessed " in r.stdout
    )
    assert f"bureau {bureau.url} record 5" in r.stdout
    # without --public-key the installation's own key names whose checkpoints to ask for
    both = custos(
        witnessed, "verify", "--witness", bureau.url, "--witness", str(witness_file(witnessed))
    )
    assert both.returncode == 0, both.stdout + both.stderr
    assert "the log extends 5 witnessed checkpoints" in both.stdout  # the same five, once each


def test_a_rollback_fails_verify_against_the_bureau_naming_the_first_contradicted_checkpoint(
    witnessed: Container, bureau: Bureau
) -> None:
    roll_back(witnessed, 25)
    plain = custos(witnessed, "verify", "--public-key", public_key(witnessed))
    assert plain.returncode == 0, plain.stdout + plain.stderr  # the database alone looks sound
    r = custos(witnessed, "verify", "--public-key", public_key(witnessed), "--witness", bureau.url)
    assert r.returncode == 1, r.stdout + r.stderr
    page = httpx.get(
        f"{bureau.url}/api/v1/witness/checkpoints",
        params={"key_id": key_of(witnessed)},
    ).json()
    held_31 = page["checkpoints"][3]
    assert held_31["checkpoint"]["tree_size"] == 31
    assert (
        f"WITNESS FAILED: witnessed checkpoint 31 (signed {held_31['checkpoint']['signed_at']}, "
        f"bureau {bureau.url} record {held_31['id']}) is contradicted: the log ends at entry 26"
        in r.stdout
    )
    assert "Traceback" not in r.stderr


def key_of(c: Container) -> str:
    return c.audit.key_id


def test_a_regrown_log_re_signs_a_held_size_the_bureau_keeps_both_and_verify_fails(
    witnessed: Container, bureau: Bureau, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    roll_back(witnessed, 25)
    fill(witnessed, clock, 10, per_transaction=5)  # entries 26..35 again: checkpoint 31 re-signed
    with witnessed.uow() as uow:
        resigned = next(cp for cp in uow.audit.checkpoints() if cp.tree_size == 31)
    # A unit that forgot what the bureau holds (a restored server) hands it over again.
    assert witnessed.witnesses is not None
    client = next(w for w in witnessed.witnesses.witnesses if w.name.startswith("bureau "))
    with caplog.at_level(logging.ERROR, logger="custos.adapters.bureau_witness_client"):
        client.witness(resigned)  # 409: logged, not retried
    assert "holds a checkpoint that checkpoint 31 contradicts: HTTP 409" in caplog.text
    conflicts = bureau.conflicts()
    assert len(conflicts) == 1
    assert conflicts[0]["tree_size"] == 31 and conflicts[0]["conflict"] == "same_size"

    r = custos(witnessed, "verify", "--public-key", public_key(witnessed), "--witness", bureau.url)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "WITNESS FAILED: witnessed checkpoint 31 " in r.stdout
    assert "entries in 22..31 were changed or replaced" in r.stdout


def test_the_bureau_down_never_stops_the_log_and_the_next_pass_catches_up(
    container: Container, clock: ManualClock, bureau: Bureau, caplog: pytest.LogCaptureFixture
) -> None:
    unit = unit_of(container, clock, bureau.url)  # the bureau is not started yet
    try:
        assert unit.witnesses is not None
        fill(unit, clock, 15, per_transaction=5)
        with caplog.at_level(logging.WARNING, logger="custos.services.audit_witness"):
            down = unit.witnesses.hand_over()
        assert list(down.failed) == [f"bureau {bureau.url}"]
        assert (
            f"cannot reach bureau {bureau.url}: ConnectError" in down.failed[f"bureau {bureau.url}"]
        )
        assert down.handed == {f"file {witness_file(unit)}": 2}  # the file still gets them
        fill(unit, clock, 20, per_transaction=5)  # the log goes on: checkpoints 21 and 31
        with unit.uow() as uow:
            assert [cp.tree_size for cp in uow.audit.checkpoints()] == [1, 11, 21, 31]

        bureau.start()  # up, but the unit's key is not registered yet
        unregistered = unit.witnesses.hand_over()
        assert (
            "has not registered this system's log key"
            in unregistered.failed[f"bureau {bureau.url}"]
        )
        bureau.register(key_hex(unit))
        caught_up = unit.witnesses.hand_over()
        assert caught_up.failed == {}
        assert caught_up.handed[f"bureau {bureau.url}"] == 4
        r = custos(unit, "verify", "--witness", bureau.url)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "the log extends 4 witnessed checkpoints" in r.stdout
    finally:
        unit.close()


def test_a_bureau_url_that_cannot_be_read_is_a_clear_error(
    witnessed: Container, bureau: Bureau
) -> None:
    bureau.stop()
    r = custos(witnessed, "verify", "--witness", bureau.url)
    assert r.returncode == 2
    assert f"cannot read the witness: cannot reach bureau {bureau.url}" in r.stderr
    r = custos(witnessed, "verify", "--witness", "https://user:secret@bureau.example/")
    assert r.returncode == 2
    assert "carries no user name or password" in r.stderr and "secret" not in r.stderr
    assert "Traceback" not in r.stderr
