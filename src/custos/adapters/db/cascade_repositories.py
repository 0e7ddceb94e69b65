"""Repositories of the GB/T 28181 cascade: upper platforms (password sealed) and share lists."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from custos.adapters.db import cascade_tables as ct
from custos.domain.gb_cascade import LinkState, PlatformState, Share, Transport, UpperPlatform
from custos.services.ports import SecretBox


class UpperPlatformRepository:
    def __init__(self, conn: Connection, secrets: SecretBox) -> None:
        self._c = conn
        self._secrets = secrets

    def add(self, p: UpperPlatform, state: LinkState) -> UpperPlatform:
        t = ct.gb_upper_platforms
        values = {
            **self._row(p),
            "state": state.value,
            "state_since": p.created_at,
            "last_error": "",
            "registered_until": None,
            "attempts": 0,
        }
        new_id = self._c.execute(insert(t).values(**values).returning(t.c.id)).scalar_one()
        return UpperPlatform(**{**_fields(p), "id": new_id})

    def update(self, p: UpperPlatform) -> None:
        t = ct.gb_upper_platforms
        row = self._row(p)
        row.pop("created_at")
        self._c.execute(update(t).where(t.c.id == p.id).values(**row))

    def get(self, platform_id: int) -> UpperPlatform | None:
        t = ct.gb_upper_platforms
        row = self._c.execute(select(t).where(t.c.id == platform_id)).mappings().first()
        return self._platform(row) if row else None

    def find(self, enabled_only: bool = False) -> list[UpperPlatform]:
        t = ct.gb_upper_platforms
        q = select(t).order_by(t.c.id)
        if enabled_only:
            q = q.where(t.c.enabled.is_(True))
        return [self._platform(r) for r in self._c.execute(q).mappings()]

    def state(self, platform_id: int) -> PlatformState | None:
        t = ct.gb_upper_platforms
        row = self._c.execute(select(t).where(t.c.id == platform_id)).mappings().first()
        return _state(row) if row else None

    def set_state(self, s: PlatformState) -> None:
        t = ct.gb_upper_platforms
        self._c.execute(
            update(t)
            .where(t.c.id == s.platform_id)
            .values(
                state=s.state.value,
                state_since=s.since,
                last_error=s.last_error[:500],
                registered_until=s.registered_until,
                attempts=s.attempts,
            )
        )

    def _row(self, p: UpperPlatform) -> dict[str, object]:
        return {
            "name": p.name,
            "sip_id": p.sip_id,
            "domain": p.domain,
            "host": p.host,
            "port": p.port,
            "transport": p.transport.value,
            "password_sealed": self._secrets.seal(p.password),
            "register_expiry_s": p.register_expiry_s,
            "keepalive_interval_s": p.keepalive_interval_s,
            "enabled": p.enabled,
            "created_at": p.created_at,
        }

    def _platform(self, r: RowMapping) -> UpperPlatform:
        return UpperPlatform(
            id=r["id"],
            sip_id=r["sip_id"],
            domain=r["domain"],
            host=r["host"],
            port=r["port"],
            transport=Transport(r["transport"]),
            password=self._secrets.open(r["password_sealed"]),
            register_expiry_s=r["register_expiry_s"],
            keepalive_interval_s=r["keepalive_interval_s"],
            enabled=r["enabled"],
            name=r["name"],
            created_at=r["created_at"],
        )


def _fields(p: UpperPlatform) -> dict[str, object]:
    return {f: getattr(p, f) for f in UpperPlatform.__dataclass_fields__}


def _state(r: RowMapping) -> PlatformState:
    return PlatformState(
        platform_id=r["id"],
        state=LinkState(r["state"]),
        since=r["state_since"],
        last_error=r["last_error"],
        registered_until=r["registered_until"],
        attempts=r["attempts"],
    )


class ShareRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, s: Share) -> Share:
        t = ct.gb_shares
        new_id = self._c.execute(
            insert(t)
            .values(
                platform_id=s.platform_id,
                camera_id=s.camera_id,
                shared_by=s.shared_by,
                shared_at=s.shared_at,
            )
            .returning(t.c.id)
        ).scalar_one()
        return Share(new_id, s.platform_id, s.camera_id, s.shared_by, s.shared_at)

    def get(self, platform_id: int, camera_id: int) -> Share | None:
        t = ct.gb_shares
        q = select(t).where(t.c.platform_id == platform_id, t.c.camera_id == camera_id)
        row = self._c.execute(q).mappings().first()
        return _share(row) if row else None

    def remove(self, platform_id: int, camera_id: int) -> None:
        t = ct.gb_shares
        self._c.execute(delete(t).where(t.c.platform_id == platform_id, t.c.camera_id == camera_id))

    def find(self, platform_id: int, camera_ids: Sequence[int] | None = None) -> list[Share]:
        t = ct.gb_shares
        q = select(t).where(t.c.platform_id == platform_id).order_by(t.c.camera_id)
        if camera_ids is not None:
            q = q.where(t.c.camera_id.in_(list(camera_ids)))
        return [_share(r) for r in self._c.execute(q).mappings()]


def _share(r: RowMapping) -> Share:
    return Share(r["id"], r["platform_id"], r["camera_id"], r["shared_by"], r["shared_at"])


__all__ = ["ShareRepository", "UpperPlatformRepository"]
