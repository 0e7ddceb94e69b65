"""The housekeeper's timed duties on two servers sharing one real PostgreSQL (docs/design/cluster.md,
"Timed duties"): each duty's passes run on exactly one of them; a server that stops hands its
duties over within one renewal, one that dies only once its leases have expired; tokens only
grow. And "Stateless servers": a sign-in on one API server is valid (and its sign-out final) on
the other.

Two containers in one process stand for two ``custos serve``: each has its own data directory (the
keys copied, as an operator deploys them) and its own holder name; leases last 3 s here
instead of 15 s, renewed every 0.3 s instead of 5 s, so the test takes seconds."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custos.adapters.audit_witness import CheckpointFile
from custos.adapters.db.duty_lease_repositories import SqlDutyLeases
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.audit import AuditEvent
from custos.domain.duty_leases import Duty, DutyHolder
from custos.domain.users import SYSTEM
from custos.entrypoints.api.app import create_app
from custos.entrypoints.workers.housekeeper import Housekeeper
from custos.services.duty_leases import DutyLeases
from tests.conftest import _truncate

TTL_S, RENEW_S, MARGIN_S = 3.0, 0.3, 0.2
EVERY_S = 0.05  # the housekeeper's tick
# the duties whose threads run without an object store (no offload) and with the checkpoint
# file as the one witness; diagnosis passes come every 5 s (its floor), too slow to count here
COUNTED = (Duty.HOUSEKEEPING, Duty.NOTIFIER, Duty.CLOCKS, Duty.WITNESS)


def _wait(check: Callable[[], bool], timeout_s: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def servers(pg_url: str, tmp_path: Path) -> Iterator[tuple[Container, Container]]:
    """Two servers' containers on one database, keys shared, nothing else."""

    def settings(name: str) -> Settings:
        return Settings(
            data_dir=tmp_path / name,
            database_url=pg_url,
            notify_every_s=0.05,
            audit_checkpoint_every=1,
        )

    first = bootstrap(settings("a"))
    _truncate(first.engine)
    shutil.copytree(tmp_path / "a" / "keys", tmp_path / "b" / "keys")
    second = bootstrap(settings("b"))
    yield first, second
    first.close()
    second.close()


def _keeper(c: Container, name: str) -> Housekeeper:
    leases = DutyLeases(SqlDutyLeases(c.engine), name, tuple(Duty), TTL_S, RENEW_S, MARGIN_S)
    return Housekeeper(c, every_s=EVERY_S, leases=leases)


class TokenWatch:
    """Reads the duty leases every 20 ms from a third connection; every (holder, token) seen."""

    def __init__(self, c: Container) -> None:
        self._store = SqlDutyLeases(c.engine)
        self.seen: dict[str, list[tuple[str | None, int]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for h in self._store.holders():
                if h.live:
                    self.seen.setdefault(h.duty, []).append((h.holder, h.token))

    def __enter__(self) -> TokenWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _sign_one(c: Container, who: str) -> int:
    """An entry in the operation log, signed at once (a checkpoint every entry): its size."""
    with c.uow() as uow:
        uow.audit.append(AuditEvent(c.clock.now(), "test", "test.entry", "server", who))
        uow.commit()
    with c.uow() as uow:
        cp = uow.audit.latest_checkpoint()
    assert cp is not None
    return cp.tree_size


def _witnessed(c: Container) -> int:
    """The newest checkpoint in this server's witness file (0: none)."""
    return CheckpointFile(c.settings.resolved_audit_witness_dir()).witnessed_size()


def _holders(c: Container) -> dict[str, DutyHolder]:
    return {h.duty: h for h in c.duty_leases.holders()}


def _all_held_by(c: Container, name: str) -> bool:
    held = _holders(c)
    return all(held[d].live and held[d].holder == name for d in Duty if d in held) and len(
        held
    ) == len(Duty)


def test_each_duty_runs_on_one_server_and_moves_when_it_stops(
    servers: tuple[Container, Container],
) -> None:
    ca, cb = servers
    a, b = _keeper(ca, "host-a:1:aa"), _keeper(cb, "host-b:2:bb")
    with TokenWatch(ca) as watch:
        a.start()
        b.start()
        try:
            _wait(lambda: all(a.passes[d] >= 3 for d in COUNTED if d != Duty.CLOCKS), 10)
            time.sleep(3 * RENEW_S)  # b renews (and is refused) several times meanwhile
            assert _all_held_by(ca, "host-a:1:aa")
            assert all(a.passes[d] > 0 for d in COUNTED)
            assert sum(b.passes.values()) == 0, b.passes  # not one pass of any duty on b
            # a real effect: a checkpoint signed through b is handed to the witness file by a
            signed = _sign_one(cb, "b")
            _wait(lambda: _witnessed(ca) >= signed, 5)
            assert _witnessed(cb) == 0
            a.stop()  # gracefully: the threads end, then the leases are released
            stopped = time.monotonic()
            took = _wait(lambda: _all_held_by(cb, "host-b:2:bb"), 5)
            # within one renewal (and slack for a loaded machine), far from the TTL's 3 s
            assert took <= RENEW_S + 0.7, f"taken over in {took:.2f} s, not within one renewal"
            before = dict(a.passes)
            _wait(lambda: all(b.passes[d] >= 2 for d in COUNTED if d != Duty.CLOCKS), 5)
            _wait(lambda: b.passes[Duty.CLOCKS] >= 1, 5)
            assert dict(a.passes) == before  # a runs nothing once stopped
            signed_later = _sign_one(ca, "a")
            _wait(lambda: _witnessed(cb) >= signed_later, 5)  # now b's thread hands it over
            assert _witnessed(ca) < signed_later
            assert time.monotonic() - stopped < 10
        finally:
            a.stop()
            b.stop()
    assert _holders(cb)[Duty.HOUSEKEEPING].holder is None  # b released on stopping
    _assert_tokens_only_grow(watch.seen, moves=1)


def test_a_dead_servers_duties_move_only_after_their_leases_expire(
    servers: tuple[Container, Container],
) -> None:
    ca, cb = servers
    a, b = _keeper(ca, "host-a:1:aa"), _keeper(cb, "host-b:2:bb")
    with TokenWatch(ca) as watch:
        a.start()
        _wait(lambda: _all_held_by(ca, "host-a:1:aa"), 5)
        b.start()
        try:
            _wait(lambda: a.passes[Duty.HOUSEKEEPING] >= 3, 5)
            a.stop(release=False)  # dies: its threads end, its leases are neither renewed nor freed
            died = time.monotonic()
            expires = max(h.expires_at for h in _holders(ca).values())
            assert all(h.holder == "host-a:1:aa" and h.live for h in _holders(ca).values())
            took = _wait(lambda: _all_held_by(cb, "host-b:2:bb"), TTL_S + RENEW_S + 2)
            assert took >= TTL_S / 2  # not at the next renewal: only once the leases ended
            granted = [h.granted_at for h in _holders(cb).values()]
            assert all(g is not None and g >= expires for g in granted)  # PostgreSQL's clock
            assert took <= TTL_S + RENEW_S + 0.7, f"{took:.2f} s after the death"
            _wait(lambda: b.passes[Duty.HOUSEKEEPING] >= 3, 5)
            assert time.monotonic() - died < 10
        finally:
            b.stop()
    _assert_tokens_only_grow(watch.seen, moves=1)


def _assert_tokens_only_grow(seen: dict[str, list[tuple[str | None, int]]], moves: int) -> None:
    assert set(seen) == {str(d) for d in Duty}
    for duty, history in seen.items():
        tokens = [t for _, t in history]
        assert tokens == sorted(tokens), f"{duty}: a token went down: {tokens}"
        terms = list(dict.fromkeys(history))  # (holder, token) in the order first seen
        assert len(terms) == 1 + moves, f"{duty}: {terms}"
        assert len({t for _, t in terms}) == len(terms)  # a new holder, a new token
        assert len({h for h, _ in terms}) == len(terms)


def test_a_sign_in_on_one_api_server_is_valid_on_the_other(
    servers: tuple[Container, Container],
) -> None:
    ca, cb = servers
    ca.auth.create_user(SYSTEM, "operator-x", Role.ADMIN, "a long password 1", None)
    with TestClient(create_app(ca)) as api_a, TestClient(create_app(cb)) as api_b:
        r = api_a.post(
            "/api/v1/auth/login", json={"username": "operator-x", "password": "a long password 1"}
        )
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = api_b.get("/api/v1/auth/me", headers=auth)
        assert me.status_code == 200 and me.json()["username"] == "operator-x"
        assert api_b.post("/api/v1/auth/logout", headers=auth).status_code == 204
        assert api_a.get("/api/v1/auth/me", headers=auth).status_code == 401  # revoked on both
        assert api_b.get("/api/v1/auth/me", headers=auth).status_code == 401
