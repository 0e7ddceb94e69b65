"""Repositories of migration 0015: ONVIF proposals, links and the unit's clock setting."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from custos.adapters.db import onvif_tables as ot
from custos.domain.onvif import (
    Credentials,
    DeviceIdentity,
    OnvifLink,
    Proposal,
    ProposalStatus,
)
from custos.services.ports import SecretBox


class _Sealer:
    def __init__(self, secrets: SecretBox) -> None:
        self._secrets = secrets

    def seal(self, c: Credentials | None) -> bytes | None:
        if c is None:
            return None
        return self._secrets.seal(json.dumps({"u": c.username, "p": c.password}))

    def open(self, token: bytes | None) -> Credentials | None:
        if token is None:
            return None
        data = json.loads(self._secrets.open(token))
        return Credentials(str(data["u"]), str(data["p"]))


class ProposalRepository:
    def __init__(self, conn: Connection, secrets: SecretBox) -> None:
        self._c = conn
        self._s = _Sealer(secrets)

    def add(self, p: Proposal) -> Proposal:
        key = self._c.execute(insert(ot.onvif_proposals).values(**self._values(p)))
        assert key.inserted_primary_key is not None
        return dataclasses.replace(p, id=int(key.inserted_primary_key[0]))

    def replace(self, p: Proposal) -> None:
        assert p.id is not None
        t = ot.onvif_proposals
        self._c.execute(update(t).where(t.c.id == p.id).values(**self._values(p)))

    def decide(self, p: Proposal) -> None:
        self.replace(p)

    def get(self, proposal_id: int) -> Proposal | None:
        t = ot.onvif_proposals
        row = self._c.execute(select(t).where(t.c.id == proposal_id)).mappings().first()
        return None if row is None else self._proposal(row)

    def find(self, unit_ids: list[int] | None, status: str | None) -> list[Proposal]:
        t = ot.onvif_proposals
        q = select(t).order_by(t.c.id)
        if unit_ids is not None:
            q = q.where(t.c.unit_id.in_(unit_ids))
        if status is not None:
            q = q.where(t.c.status == status)
        return [self._proposal(r) for r in self._c.execute(q).mappings()]

    def open_for(self, unit_id: int, endpoint: str) -> Proposal | None:
        t = ot.onvif_proposals
        q = select(t).where(
            t.c.unit_id == unit_id, t.c.endpoint == endpoint, t.c.status == "proposed"
        )
        row = self._c.execute(q).mappings().first()
        return None if row is None else self._proposal(row)

    def _values(self, p: Proposal) -> dict[str, Any]:
        ident = p.identity
        return {
            "unit_id": p.unit_id,
            "endpoint": p.endpoint,
            "xaddr": p.xaddr,
            "scopes": list(p.scopes),
            "manufacturer": ident.manufacturer if ident else None,
            "model": ident.model if ident else None,
            "serial": ident.serial if ident else None,
            "firmware": ident.firmware if ident else None,
            "main_stream_uri": p.main_stream_uri,
            "sub_stream_uri": p.sub_stream_uri,
            "profile_token": p.profile_token,
            "has_ptz": p.has_ptz,
            "clock_drift_s": p.clock_drift_s,
            "probe_error": p.probe_error,
            "credentials_secret": self._s.seal(p.credentials),
            "discovered_at": p.discovered_at,
            "discovered_by": p.discovered_by,
            "status": p.status.value,
            "decided_by": p.decided_by,
            "decided_at": p.decided_at,
            "camera_id": p.camera_id,
        }

    def _proposal(self, r: RowMapping) -> Proposal:
        ident = None
        if r["manufacturer"] is not None:
            ident = DeviceIdentity(r["manufacturer"], r["model"] or "", r["serial"] or "",
                                   r["firmware"] or "")  # fmt: skip
        return Proposal(
            id=r["id"],
            unit_id=r["unit_id"],
            endpoint=r["endpoint"],
            xaddr=r["xaddr"],
            scopes=list(r["scopes"]),
            identity=ident,
            main_stream_uri=r["main_stream_uri"],
            sub_stream_uri=r["sub_stream_uri"],
            profile_token=r["profile_token"],
            has_ptz=bool(r["has_ptz"]),
            clock_drift_s=r["clock_drift_s"],
            probe_error=r["probe_error"],
            discovered_at=r["discovered_at"],
            discovered_by=r["discovered_by"],
            status=ProposalStatus(r["status"]),
            decided_by=r["decided_by"],
            decided_at=r["decided_at"],
            camera_id=r["camera_id"],
            credentials=self._s.open(r["credentials_secret"]),
        )


class OnvifLinkRepository:
    def __init__(self, conn: Connection, secrets: SecretBox) -> None:
        self._c = conn
        self._s = _Sealer(secrets)

    def add(self, link: OnvifLink) -> None:
        self._c.execute(
            insert(ot.onvif_links).values(
                camera_id=link.camera_id,
                xaddr=link.xaddr,
                endpoint=link.endpoint,
                credentials_secret=self._s.seal(link.credentials),
                profile_token=link.profile_token,
                has_ptz=link.has_ptz,
                clock_drift_s=link.clock_drift_s,
                clock_checked_at=link.clock_checked_at,
            )
        )

    def get(self, camera_id: int) -> OnvifLink | None:
        t = ot.onvif_links
        row = self._c.execute(select(t).where(t.c.camera_id == camera_id)).mappings().first()
        return None if row is None else self._link(row)

    def all(self) -> list[OnvifLink]:
        t = ot.onvif_links
        return [
            self._link(r) for r in self._c.execute(select(t).order_by(t.c.camera_id)).mappings()
        ]

    def record_drift(self, camera_id: int, drift_s: float, at: datetime) -> None:
        t = ot.onvif_links
        self._c.execute(
            update(t)
            .where(t.c.camera_id == camera_id)
            .values(clock_drift_s=drift_s, clock_checked_at=at)
        )

    def record_clock_attempt(self, camera_id: int, at: datetime) -> None:
        t = ot.onvif_links
        self._c.execute(update(t).where(t.c.camera_id == camera_id).values(clock_checked_at=at))

    def _link(self, r: RowMapping) -> OnvifLink:
        return OnvifLink(
            camera_id=r["camera_id"],
            xaddr=r["xaddr"],
            endpoint=r["endpoint"],
            credentials=self._s.open(r["credentials_secret"]),
            profile_token=r["profile_token"],
            has_ptz=bool(r["has_ptz"]),
            clock_drift_s=r["clock_drift_s"],
            clock_checked_at=r["clock_checked_at"],
        )


class OnvifUnitSettingsRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def camera_time_sync(self, unit_id: int) -> bool:
        t = ot.onvif_unit_settings
        got = self._c.execute(select(t.c.camera_time_sync).where(t.c.unit_id == unit_id)).first()
        return bool(got[0]) if got is not None else False

    def set_camera_time_sync(self, unit_id: int, allowed: bool) -> None:
        t = ot.onvif_unit_settings
        self._c.execute(delete(t).where(t.c.unit_id == unit_id))
        self._c.execute(insert(t).values(unit_id=unit_id, camera_time_sync=allowed))
