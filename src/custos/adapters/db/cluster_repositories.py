"""Recorder nodes, camera leases and refused segments (docs/design/cluster.md).

Every time in a lease is PostgreSQL's ``now()``: one clock for all nodes, so their own clocks
never have to agree. PostgreSQL only — a cluster cannot run on SQLite (``SKIP LOCKED``, and one
machine's file), and the recorder refuses a named node there before it gets here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from custos.adapters.db import cluster_tables as ct
from custos.domain.cluster import (
    LEASE_TTL_S,
    CameraLease,
    Claimed,
    HeldLease,
    NodeState,
    RecorderNode,
)


class LeaseRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    # ---- nodes ------------------------------------------------------------------------------
    def upsert_node(
        self,
        name: str,
        address: str,
        capacity: int,
        version: str,
        state: NodeState,
        instance: str = "",
        ttl_s: float = LEASE_TTL_S,
    ) -> bool:
        """Register the node under ``name`` for process ``instance``; False (nothing changed)
        while another process holds the name and its heartbeat is younger than a lease."""
        row = self._c.execute(
            text(
                "INSERT INTO recorder_nodes (name, address, capacity, version, started_at,"
                " heartbeat_at, state, instance) VALUES (:name, :address, :capacity, :version,"
                " now(), now(), :state, :instance) ON CONFLICT (name) DO UPDATE SET"
                " address = :address, capacity = :capacity, version = :version,"
                " started_at = now(), heartbeat_at = now(), state = :state,"
                " instance = :instance WHERE recorder_nodes.instance = :instance"
                " OR recorder_nodes.state = 'stopped'"
                " OR recorder_nodes.heartbeat_at <= now() - make_interval(secs => :ttl)"
                " RETURNING name"
            ),
            {
                "name": name,
                "address": address,
                "capacity": capacity,
                "version": version,
                "state": str(state),
                "instance": instance,
                "ttl": ttl_s,
            },
        ).first()
        return row is not None

    def fence_name(self, name: str) -> list[int]:
        """A new process took the name over: every lease held under it gets a new token (a
        new term from now), so what the previous process records from now on is refused."""
        rows = self._c.execute(
            text(
                "UPDATE camera_leases SET fencing_token = fencing_token + 1, granted_at = now()"
                " WHERE holder = :name RETURNING camera_id, fencing_token"
            ),
            {"name": name},
        ).all()
        for camera_id, token in rows:
            self._c.execute(
                text(
                    "INSERT INTO camera_lease_terms (camera_id, fencing_token, holder,"
                    " granted_at) VALUES (:cam, :token, :name, now())"
                ),
                {"cam": camera_id, "token": token, "name": name},
            )
        return [int(r[0]) for r in rows]

    def heartbeat(self, name: str, instance: str | None = None) -> bool:
        """False when the name is now another process's (this one was taken over)."""
        sql = "UPDATE recorder_nodes SET heartbeat_at = now() WHERE name = :name"
        if instance is not None:
            sql += " AND instance = :instance"
        done = self._c.execute(text(sql), {"name": name, "instance": instance})
        return bool(done.rowcount)

    def set_node_state(self, name: str, state: NodeState) -> None:
        self._c.execute(
            update(ct.recorder_nodes)
            .where(ct.recorder_nodes.c.name == name)
            .values(state=str(state))
        )

    def nodes(self, ttl_s: float) -> list[RecorderNode]:
        rows = self._c.execute(
            text(
                "SELECT name, address, capacity, version, started_at, heartbeat_at, state,"
                " (state = 'running' AND heartbeat_at > now() - make_interval(secs => :ttl))"
                " AS live FROM recorder_nodes ORDER BY name"
            ),
            {"ttl": ttl_s},
        ).mappings()
        return [
            RecorderNode(
                r["name"],
                r["address"],
                r["capacity"],
                r["version"],
                r["started_at"],
                r["heartbeat_at"],
                NodeState(r["state"]),
                bool(r["live"]),
            )
            for r in rows
        ]

    def database_now(self) -> datetime:
        now: datetime = self._c.execute(select(func.now())).scalar_one()
        return now

    # ---- leases -----------------------------------------------------------------------------
    def ensure(self, camera_ids: Sequence[int]) -> None:
        """A lease row (no holder, token 0) for each camera that has none."""
        if not camera_ids:
            return
        self._c.execute(
            text(
                "INSERT INTO camera_leases (camera_id, holder, expires_at, fencing_token,"
                " releasing) SELECT c, NULL, now(), 0, false FROM unnest(:ids) AS c"
                " ON CONFLICT (camera_id) DO NOTHING"
            ),
            {"ids": list(camera_ids)},
        )

    def instance_of(self, name: str) -> str | None:
        """The process that used the name last (its row locked until the transaction ends)."""
        t = ct.recorder_nodes
        q = select(t.c.instance).where(t.c.name == name).with_for_update()
        found: str | None = self._c.execute(q).scalar_one_or_none()
        return found

    def renew(self, node: str, ttl_s: float) -> list[HeldLease]:
        """Extend what ``node`` holds — expired or not: an expired lease that no one claimed
        is still its own (a claim makes the claimant the holder under the same row lock), so
        after PostgreSQL comes back every node keeps its cameras and its token."""
        rows = self._c.execute(
            text(
                "UPDATE camera_leases SET expires_at = now() + make_interval(secs => :ttl)"
                " WHERE holder = :node RETURNING camera_id, fencing_token, releasing"
            ),
            {"node": node, "ttl": ttl_s},
        ).all()
        return sorted((HeldLease(r[0], r[1], r[2]) for r in rows), key=lambda h: h.camera_id)

    def claim(self, node: str, among: Sequence[int], count: int, ttl_s: float) -> list[Claimed]:
        """Grant ``node`` up to ``count`` of the cameras ``among`` that no one holds (never
        leased, handed over or expired), skipping rows another node is claiming right now."""
        if count <= 0 or not among:
            return []
        free = self._c.execute(
            text(
                "SELECT camera_id, holder, (holder IS NOT NULL) AS expired FROM camera_leases"
                " WHERE camera_id = ANY(:ids) AND (holder IS NULL OR expires_at <= now())"
                " AND holder IS DISTINCT FROM :node"
                " ORDER BY camera_id LIMIT :n FOR UPDATE SKIP LOCKED"
            ),
            {"ids": list(among), "n": count, "node": node},
        ).all()
        claimed: list[Claimed] = []
        for camera_id, previous, expired in free:
            token = self._c.execute(
                text(
                    "UPDATE camera_leases SET holder = :node,"
                    " expires_at = now() + make_interval(secs => :ttl),"
                    " fencing_token = fencing_token + 1, granted_at = now(), releasing = false"
                    " WHERE camera_id = :cam RETURNING fencing_token"
                ),
                {"node": node, "ttl": ttl_s, "cam": camera_id},
            ).scalar_one()
            self._c.execute(
                text(
                    "INSERT INTO camera_lease_terms (camera_id, fencing_token, holder,"
                    " granted_at) VALUES (:cam, :token, :node, now())"
                ),
                {"cam": camera_id, "token": token, "node": node},
            )
            claimed.append(Claimed(camera_id, token, previous, bool(expired)))
        return claimed

    def mark_releasing(self, node: str, camera_ids: Sequence[int]) -> None:
        if camera_ids:
            t = ct.camera_leases
            self._c.execute(
                update(t)
                .where(t.c.holder == node, t.c.camera_id.in_(list(camera_ids)))
                .values(releasing=True)
            )

    def release(self, node: str, camera_ids: Sequence[int]) -> None:
        """Hand cameras over: no holder from now on (the token stays; the next grant adds 1)."""
        if camera_ids:
            self._c.execute(
                text(
                    "UPDATE camera_leases SET holder = NULL, releasing = false, expires_at = now()"
                    " WHERE holder = :node AND camera_id = ANY(:ids)"
                ),
                {"node": node, "ids": list(camera_ids)},
            )

    def leases(self) -> list[CameraLease]:
        t = ct.camera_leases
        rows = self._c.execute(select(t).order_by(t.c.camera_id)).mappings()
        return [
            CameraLease(
                r["camera_id"],
                r["holder"],
                r["expires_at"],
                r["fencing_token"],
                r["granted_at"],
                r["releasing"],
            )
            for r in rows
        ]

    # ---- fencing ----------------------------------------------------------------------------
    def current_token(self, camera_id: int) -> int | None:
        """The camera's token now, its lease row locked until the transaction ends (so a
        grant cannot slip between this check and the segment's row)."""
        t = ct.camera_leases
        q = select(t.c.fencing_token).where(t.c.camera_id == camera_id).with_for_update()
        token: int | None = self._c.execute(q).scalar_one_or_none()
        return token

    def term_began(self, camera_id: int, token: int) -> datetime | None:
        t = ct.camera_lease_terms
        q = select(t.c.granted_at).where(t.c.camera_id == camera_id, t.c.fencing_token == token)
        began: datetime | None = self._c.execute(q).scalar_one_or_none()
        return began

    def add_refused(self, row: dict[str, object]) -> int:
        t = ct.refused_segments
        new_id: int = self._c.execute(insert(t).values(**row).returning(t.c.id)).scalar_one()
        return new_id

    def refused_as(self, path: str, sha256: str) -> dict[str, object] | None:
        t = ct.refused_segments
        q = select(t).where(t.c.path == path, t.c.sha256 == sha256).limit(1)
        row = self._c.execute(q).mappings().first()
        return dict(row) if row is not None else None

    def refused(self, limit: int = 1000) -> list[dict[str, object]]:
        t = ct.refused_segments
        q = select(t).order_by(t.c.refused_at.desc()).limit(bindparam("n", limit))
        return [dict(r) for r in self._c.execute(q).mappings()]
