"""Row ↔ domain mapping, one small repository per aggregate."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, insert, or_, select, update

from custos.adapters.db import tables as t
from custos.adapters.db.audit_log import AuditRepository
from custos.domain.access import Role
from custos.domain.kinds import LifecycleState, PublicPlaceArticle, UnitKind
from custos.domain.registry import (
    Camera,
    Contact,
    Filing,
    FilingKind,
    LifecycleEvent,
    Signage,
    Site,
    SiteType,
    StreamUrl,
    Unit,
)
from custos.domain.rules.terms import ApproverRole
from custos.domain.users import AuthSession, User
from custos.services.ports import SecretBox

#: Sealed stream secrets since issue 11: a marker, then JSON (userinfo and parameter values).
_SEALED_V2 = "\x01v2"

__all__ = [
    "AuditRepository",  # the operation log has its own module: custos.adapters.db.audit_log
    "CameraRepository",
    "FilingRepository",
    "SessionRepository",
    "SiteRepository",
    "UnitRepository",
    "UserRepository",
]


class UnitRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, unit: Unit) -> Unit:
        row = _unit_row(unit)
        unit.id = self._c.execute(
            insert(t.units).values(**row).returning(t.units.c.id)
        ).scalar_one()
        return unit

    def update(self, unit: Unit) -> None:
        self._c.execute(update(t.units).where(t.units.c.id == unit.id).values(**_unit_row(unit)))

    def get(self, unit_id: int) -> Unit | None:
        row = self._c.execute(select(t.units).where(t.units.c.id == unit_id)).mappings().first()
        return _unit(row) if row else None

    def by_credit_code(self, code: str) -> Unit | None:
        q = select(t.units).where(t.units.c.credit_code == code)
        row = self._c.execute(q).mappings().first()
        return _unit(row) if row else None

    def find(self, unit_id: int | None = None) -> list[Unit]:
        q = select(t.units).order_by(t.units.c.id)
        if unit_id is not None:
            q = q.where(t.units.c.id == unit_id)
        return [_unit(r) for r in self._c.execute(q).mappings()]


def _unit_row(unit: Unit) -> dict[str, Any]:
    contacts = [{"name": c.name, "phone": c.phone, "role": c.role} for c in unit.contacts]
    return {
        "name": unit.name,
        "credit_code": unit.credit_code,
        "kind": unit.kind.value,
        "contacts": contacts,
    }


def _unit(r: RowMapping) -> Unit:
    contacts = [Contact(**c) for c in r["contacts"]]
    return Unit(r["id"], r["name"], r["credit_code"], UnitKind(r["kind"]), contacts)


class SiteRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, site: Site) -> Site:
        q = insert(t.sites).values(**_site_row(site)).returning(t.sites.c.id)
        site.id = self._c.execute(q).scalar_one()
        return site

    def update(self, site: Site) -> None:
        self._c.execute(update(t.sites).where(t.sites.c.id == site.id).values(**_site_row(site)))

    def get(self, site_id: int) -> Site | None:
        row = self._c.execute(select(t.sites).where(t.sites.c.id == site_id)).mappings().first()
        return _site(row) if row else None

    def find(self, unit_id: int | None = None) -> list[Site]:
        q = select(t.sites).order_by(t.sites.c.id)
        if unit_id is not None:
            q = q.where(t.sites.c.unit_id == unit_id)
        return [_site(r) for r in self._c.execute(q).mappings()]


def _site_row(s: Site) -> dict[str, Any]:
    return {
        "unit_id": s.unit_id,
        "name": s.name,
        "division_code": s.division_code,
        "address": s.address,
        "latitude": s.latitude,
        "longitude": s.longitude,
        "is_public_place": s.is_public_place,
        "public_place_article": s.public_place_article.value,
        "is_public_road_or_square": s.is_public_road_or_square,
        "is_classified": s.is_classified,
        "categories": list(s.categories),
        "site_type": s.site_type.value,
        "government_invested": s.government_invested,
        "division_name": s.division_name,
    }


def _site(r: RowMapping) -> Site:
    return Site(
        id=r["id"],
        unit_id=r["unit_id"],
        name=r["name"],
        division_code=r["division_code"],
        address=r["address"],
        latitude=r["latitude"],
        longitude=r["longitude"],
        is_public_place=r["is_public_place"],
        public_place_article=PublicPlaceArticle(r["public_place_article"]),
        is_public_road_or_square=r["is_public_road_or_square"],
        is_classified=r["is_classified"],
        categories=list(r["categories"]),
        site_type=SiteType(r["site_type"]),
        government_invested=r["government_invested"],
        division_name=r["division_name"],
    )


class CameraRepository:
    def __init__(self, conn: Connection, secrets: SecretBox) -> None:
        self._c = conn
        self._secrets = secrets

    def add(self, cam: Camera) -> Camera:
        q = insert(t.cameras).values(**self._row(cam)).returning(t.cameras.c.id)
        cam.id = self._c.execute(q).scalar_one()
        self._save_lifecycle(cam, already=0)
        return cam

    def update(self, cam: Camera) -> None:
        self._c.execute(update(t.cameras).where(t.cameras.c.id == cam.id).values(**self._row(cam)))
        count_q = select(func.count()).where(t.camera_lifecycle.c.camera_id == cam.id)
        self._save_lifecycle(cam, already=self._c.execute(count_q).scalar_one())

    def get(self, camera_id: int) -> Camera | None:
        return next(iter(self._load(select(t.cameras).where(t.cameras.c.id == camera_id))), None)

    def by_address_code(self, code: str) -> Camera | None:
        return next(
            iter(self._load(select(t.cameras).where(t.cameras.c.address_code == code))), None
        )

    def find(
        self, site_ids: Sequence[int] | None = None, ids: Sequence[int] | None = None
    ) -> list[Camera]:
        q = select(t.cameras).order_by(t.cameras.c.id)
        if site_ids is not None:
            q = q.where(t.cameras.c.site_id.in_(list(site_ids)))
        if ids is not None:
            q = q.where(t.cameras.c.id.in_(list(ids)))
        return self._load(q)

    def ids_with_stream_in(self, states: Collection[LifecycleState]) -> list[int]:
        """Ids of the cameras with a main stream whose latest lifecycle step is one of
        ``states``: one statement, no stream URL opened (docs/design/cluster.md)."""
        c, lc = t.cameras.c, t.camera_lifecycle.c
        latest = (
            select(lc.camera_id, func.max(lc.id).label("last_id")).group_by(lc.camera_id).subquery()
        )
        q = (
            select(c.id)
            .join(latest, latest.c.camera_id == c.id)
            .join(t.camera_lifecycle, lc.id == latest.c.last_id)
            .where(c.main_stream_url.is_not(None), lc.state.in_([s.value for s in states]))
            .order_by(c.id)
        )
        return list(self._c.execute(q).scalars())

    def with_clear_credentials(self) -> list[int]:
        """Cameras whose stored URL still carries a credential in clear (rows written before
        issue 11 kept query passwords in the URL column)."""
        c = t.cameras.c
        q = (
            select(c.id, c.main_stream_url, c.sub_stream_url)
            .where(or_(c.main_stream_url.contains("="), c.sub_stream_url.contains("=")))
            .order_by(c.id)
        )
        return [
            r.id
            for r in self._c.execute(q)
            if any(u and StreamUrl.stored(u, None, None, ()).hidden for u in r[1:])
        ]

    def _load(self, q: Any) -> list[Camera]:
        rows = list(self._c.execute(q).mappings())
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        lq = (
            select(t.camera_lifecycle)
            .where(t.camera_lifecycle.c.camera_id.in_(ids))
            .order_by(t.camera_lifecycle.c.id)
        )
        events: dict[int, list[LifecycleEvent]] = {i: [] for i in ids}
        for e in self._c.execute(lq).mappings():
            events[e["camera_id"]].append(
                LifecycleEvent(LifecycleState(e["state"]), e["on_date"], e["recorded_at"])
            )
        return [self._camera(r, events[r["id"]]) for r in rows]

    def _save_lifecycle(self, cam: Camera, already: int) -> None:
        for e in cam.lifecycle[already:]:
            self._c.execute(
                insert(t.camera_lifecycle).values(
                    camera_id=cam.id, state=e.state.value, on_date=e.on, recorded_at=e.recorded_at
                )
            )

    def _row(self, c: Camera) -> dict[str, Any]:
        return {
            "site_id": c.site_id,
            "address_code": c.address_code,
            "name": c.name,
            "device_type": c.device_type,
            "manufacturer": c.manufacturer,
            "model": c.model,
            "install_position": c.install_position,
            "field_of_view": c.field_of_view,
            "location_categories": list(c.location_categories),
            "covers_public_area": c.covers_public_area,
            "captures_outside_premises": c.captures_public_area_outside_premises,
            "signage_installed": c.signage.installed,
            "signage_installed_on": c.signage.installed_on,
            "signage_photo_ref": c.signage.photo_ref,
            "main_stream_url": c.main_stream.public if c.main_stream else None,
            "main_stream_secret": self._seal(c.main_stream),
            "sub_stream_url": c.sub_stream.public if c.sub_stream else None,
            "sub_stream_secret": self._seal(c.sub_stream),
            "retention_days": c.retention_days,
            "ptz": c.ptz,
        }

    def _seal(self, url: StreamUrl | None) -> bytes | None:
        if url is None or not url.has_credentials:
            return None
        sealed = {"u": url.username, "p": url.password, "h": list(url.hidden)}
        return self._secrets.seal(_SEALED_V2 + json.dumps(sealed))

    def _open(self, public: str | None, secret: bytes | None) -> StreamUrl | None:
        if public is None:
            return None
        user: str | None = None
        password: str | None = None
        hidden: tuple[str, ...] = ()
        if secret is not None:
            text = self._secrets.open(secret)
            if text.startswith(_SEALED_V2):
                sealed = json.loads(text.removeprefix(_SEALED_V2))
                user, password, hidden = sealed["u"], sealed["p"], tuple(sealed["h"])
            else:  # before issue 11: "user\0password", from the userinfo only
                user, _, password = text.partition("\x00")
        return StreamUrl.stored(public, user, password, hidden)

    def _camera(self, r: RowMapping, lifecycle: list[LifecycleEvent]) -> Camera:
        return Camera(
            id=r["id"],
            site_id=r["site_id"],
            address_code=r["address_code"],
            name=r["name"],
            device_type=r["device_type"],
            manufacturer=r["manufacturer"],
            model=r["model"],
            install_position=r["install_position"],
            field_of_view=r["field_of_view"],
            location_categories=list(r["location_categories"]),
            covers_public_area=r["covers_public_area"],
            captures_public_area_outside_premises=r["captures_outside_premises"],
            signage=Signage(
                r["signage_installed"], r["signage_installed_on"], r["signage_photo_ref"]
            ),
            main_stream=self._open(r["main_stream_url"], r["main_stream_secret"]),
            sub_stream=self._open(r["sub_stream_url"], r["sub_stream_secret"]),
            retention_days=r["retention_days"],
            ptz=r["ptz"],
            lifecycle=lifecycle,
        )


class FilingRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, f: Filing) -> Filing:
        row = {
            "site_id": f.site_id,
            "kind": f.kind.value,
            "trigger_date": f.trigger_date,
            "filed_on": f.filed_on,
            "recipient": f.recipient,
            "receipt_number": f.receipt_number,
            "note": f.note,
        }
        f.id = self._c.execute(
            insert(t.filings).values(**row).returning(t.filings.c.id)
        ).scalar_one()
        return f

    def find(self, site_ids: Sequence[int]) -> list[Filing]:
        q = (
            select(t.filings)
            .where(t.filings.c.site_id.in_(list(site_ids)))
            .order_by(t.filings.c.id)
        )
        return [_filing(r) for r in self._c.execute(q).mappings()]

    def get(self, filing_id: int) -> Filing | None:
        q = select(t.filings).where(t.filings.c.id == filing_id)
        row = self._c.execute(q).mappings().first()
        return None if row is None else _filing(row)

    def update(self, f: Filing) -> None:
        """The filing loop records the accepted filing (filed_on, receipt_number) or moves a
        re-filing task's trigger (docs/design/filing.md D3, D4)."""
        self._c.execute(
            update(t.filings)
            .where(t.filings.c.id == f.id)
            .values(
                kind=f.kind.value,
                trigger_date=f.trigger_date,
                filed_on=f.filed_on,
                recipient=f.recipient,
                receipt_number=f.receipt_number,
                note=f.note,
            )
        )

    def delete(self, filing_id: int) -> None:
        """A withdrawn re-filing task owed nothing (docs/design/filing.md D4)."""
        self._c.execute(delete(t.filings).where(t.filings.c.id == filing_id))


def _filing(r: Any) -> Filing:
    return Filing(
        r["id"],
        r["site_id"],
        FilingKind(r["kind"]),
        r["trigger_date"],
        r["filed_on"],
        r["recipient"],
        r["receipt_number"],
        r["note"],
    )


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, u: User) -> User:
        u.id = self._c.execute(
            insert(t.users).values(**_user_row(u)).returning(t.users.c.id)
        ).scalar_one()
        return u

    def update(self, u: User) -> None:
        self._c.execute(update(t.users).where(t.users.c.id == u.id).values(**_user_row(u)))

    def get(self, user_id: int) -> User | None:
        row = self._c.execute(select(t.users).where(t.users.c.id == user_id)).mappings().first()
        return _user(row) if row else None

    def by_username(self, username: str) -> User | None:
        q = select(t.users).where(t.users.c.username == username)
        row = self._c.execute(q).mappings().first()
        return _user(row) if row else None

    def find(self) -> list[User]:
        return [
            _user(r) for r in self._c.execute(select(t.users).order_by(t.users.c.id)).mappings()
        ]


def _user_row(u: User) -> dict[str, Any]:
    return {
        "username": u.username,
        "role": u.role.value,
        "unit_id": u.unit_id,
        "password_hash": u.password_hash,
        "active": u.active,
        "failed_logins": u.failed_logins,
        "first_failure_at": u.first_failure_at,
        "locked_until": u.locked_until,
        "full_name": u.full_name,
        "jurisdiction": u.jurisdiction,
        "approver_title": u.approver_title.value if u.approver_title else None,
        "scopes": json.dumps(list(u.scopes)),
    }


def _user(r: RowMapping) -> User:
    return User(
        r["id"],
        r["username"],
        Role(r["role"]),
        r["unit_id"],
        r["password_hash"],
        r["active"],
        r["failed_logins"],
        r["first_failure_at"],
        r["locked_until"],
        full_name=r["full_name"],
        jurisdiction=r["jurisdiction"],
        approver_title=ApproverRole(r["approver_title"]) if r["approver_title"] else None,
        scopes=tuple(json.loads(r["scopes"])),
    )


class SessionRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, s: AuthSession) -> AuthSession:
        row = {
            "user_id": s.user_id,
            "token_hash": s.token_hash,
            "created_at": s.created_at,
            "expires_at": s.expires_at,
            "revoked_at": s.revoked_at,
        }
        q = insert(t.auth_sessions).values(**row).returning(t.auth_sessions.c.id)
        s.id = self._c.execute(q).scalar_one()
        return s

    def by_token_hash(self, token_hash: str) -> AuthSession | None:
        q = select(t.auth_sessions).where(t.auth_sessions.c.token_hash == token_hash)
        r = self._c.execute(q).mappings().first()
        if r is None:
            return None
        return AuthSession(
            r["id"],
            r["user_id"],
            r["token_hash"],
            r["created_at"],
            r["expires_at"],
            r["revoked_at"],
        )

    def revoke(self, session_id: int, at: Any) -> None:
        q = update(t.auth_sessions).where(t.auth_sessions.c.id == session_id).values(revoked_at=at)
        self._c.execute(q)

    def revoke_all_for(self, user_id: int, at: Any) -> int:
        q = (
            update(t.auth_sessions)
            .where(t.auth_sessions.c.user_id == user_id, t.auth_sessions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return self._c.execute(q).rowcount
