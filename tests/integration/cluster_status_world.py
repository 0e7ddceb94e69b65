"""A cluster for the status tests, made the way recorder nodes make it: cameras registered in
service, two nodes that join and claim through :class:`RecorderLeases` on a real PostgreSQL, and
the one way a test can make a node stale without waiting ten seconds — its heartbeat and leases
moved into the past, as if it had stopped renewing a minute ago."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from custos.bootstrap import Container
from custos.domain.calendar import shanghai_date
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.services.recorder_leases import NodeIdentity, RecorderLeases

A = NodeIdentity("node-a", "10.0.0.1:8081", 5, "0.16.0")
B = NodeIdentity("node-b", "10.0.0.2:8081", 5, "0.16.0")


@dataclass
class TwoNodes:
    db: Container
    leases: RecorderLeases
    cameras: list[int]

    def targets(self) -> list[int]:
        return [t.camera_id for t in self.db.recording.targets()]


def register_cameras(db: Container, n: int, first: int = 1) -> list[int]:
    urls = [f"rtsp://127.0.0.1:9/cam{i}" for i in range(1, first + n)]
    return register_demo_cameras(db.registry, urls, shanghai_date(db.clock.now()))[first - 1 :]


def shared(db: Container, cameras: int = 5) -> TwoNodes:
    """Node A (capacity 5) claims every camera; node B (capacity 5) joins, A hands over its
    surplus (the highest ids) and B claims them: A holds the first three, B the last two."""
    ids = register_cameras(db, cameras)
    w = TwoNodes(db, RecorderLeases(db.uow, db.clock), ids)
    w.leases.join(A)
    assert len(w.leases.claim(A, 0, w.targets())) == cameras
    w.leases.join(B)
    surplus = w.leases.surplus(A, ids, cameras)
    w.leases.release(A.name, surplus)
    assert len(w.leases.claim(B, 0, w.targets())) == len(surplus)
    return w


def make_stale(db: Container, node: str, seconds: int = 60) -> None:
    """``node`` stopped renewing ``seconds`` ago: its heartbeat and its leases are that old."""
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE recorder_nodes SET heartbeat_at = now() - make_interval(secs => :s)"
                " WHERE name = :n"
            ),
            {"s": seconds, "n": node},
        )
        conn.execute(
            text(
                "UPDATE camera_leases SET expires_at = now() - make_interval(secs => :s)"
                " WHERE holder = :n"
            ),
            {"s": seconds - 10, "n": node},
        )
