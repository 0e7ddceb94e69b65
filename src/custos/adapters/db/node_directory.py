"""Where a recorder node is, and which node records a camera now (``recorder_nodes`` and
``camera_leases``, migration 0026): the :class:`~custos.services.cluster_media.NodeDirectory`
port, for live view and playback from any server (docs/design/cluster.md)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from custos.adapters.db.cluster_tables import camera_leases, recorder_nodes
from custos.services.cluster_media import NodeAt


class SqlNodeDirectory:
    """Each call is one short read of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def holder_of(self, camera_id: int) -> NodeAt | None:
        """The node holding the camera's lease, and its address. An expired lease is still
        named: its stream fails at once and the viewer asks again, by when the lease has moved."""
        q = (
            select(recorder_nodes.c.name, recorder_nodes.c.address)
            .select_from(camera_leases)
            .join(recorder_nodes, recorder_nodes.c.name == camera_leases.c.holder)
            .where(camera_leases.c.camera_id == camera_id)
        )
        with self._engine.connect() as conn:
            row = conn.execute(q).first()
        return NodeAt(row[0], row[1]) if row is not None else None

    def address_of(self, node: str) -> str | None:
        q = select(recorder_nodes.c.address).where(recorder_nodes.c.name == node)
        with self._engine.connect() as conn:
            address: str | None = conn.execute(q).scalar_one_or_none()
        return address
