"""GB/T 28181 cascade (issue 12 §2): the upper platforms Custos registers with, their state, the
share lists, and what the cascade client asks of the registry (the shared catalogue, whether an
INVITE names a shared camera).

The SIP side is a port (:mod:`custos.services.gb_cascade_client`); this module knows no SIP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custos.domain.gb_cascade import (
    LinkState,
    PlatformState,
    Share,
    Transport,
    UpperPlatform,
    check_platform,
    share_refusal,
)
from custos.domain.kinds import LifecycleState, Severity
from custos.domain.registry import Camera, Site
from custos.domain.rules import Finding, RuleBook
from custos.domain.rules.terms import ViolationKey
from custos.domain.users import Principal
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged

_LIVE_STATES = frozenset({LifecycleState.IN_SERVICE, LifecycleState.CHANGED})


class UpperPlatforms(Protocol):
    def add(self, p: UpperPlatform, state: LinkState) -> UpperPlatform: ...
    def update(self, p: UpperPlatform) -> None: ...
    def get(self, platform_id: int) -> UpperPlatform | None: ...
    def find(self, enabled_only: bool = False) -> list[UpperPlatform]: ...
    def state(self, platform_id: int) -> PlatformState | None: ...
    def set_state(self, s: PlatformState) -> None: ...


class Shares(Protocol):
    def add(self, s: Share) -> Share: ...
    def get(self, platform_id: int, camera_id: int) -> Share | None: ...
    def remove(self, platform_id: int, camera_id: int) -> None: ...
    def find(self, platform_id: int, camera_ids: Sequence[int] | None = None) -> list[Share]: ...


class CascadeUnitOfWork(UnitOfWork, Protocol):
    @property
    def gb_platforms(self) -> UpperPlatforms: ...
    @property
    def gb_shares(self) -> Shares: ...


@dataclass(frozen=True)
class PlatformInput:
    name: str
    sip_id: str
    domain: str
    host: str
    port: int
    transport: Transport
    password: str | None = field(repr=False)  # None on an update: keep the sealed one
    register_expiry_s: int
    keepalive_interval_s: int
    enabled: bool


@dataclass(frozen=True)
class PlatformView:
    platform: UpperPlatform
    state: PlatformState | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.platform.as_dict(), "link": self.state.as_dict() if self.state else None}


@dataclass(frozen=True)
class CatalogEntry:
    """One shared camera as the upper platform sees it."""

    device_id: str  # the camera's 20-digit address code
    name: str
    manufacturer: str
    model: str
    address: str
    online: bool


class GbCascadeService:
    def __init__(self, uow: Callable[[], CascadeUnitOfWork], rules: RuleBook, clock: Clock) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock

    # --- upper platforms -----------------------------------------------------------------------

    def create(self, actor: Principal, data: PlatformInput) -> PlatformView:
        actor.require(Permission.REGISTRY_WRITE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "gb_platform.create",
                                 "gb_platform", None, {"sip_id": data.sip_id})  # fmt: skip
        with logged, self._uow() as uow:
            p = _platform(None, data, data.password or "", now)
            if errors := check_platform(p):
                raise ValidationFailed(errors)
            if any(o.sip_id == p.sip_id for o in uow.gb_platforms.find()):
                raise Conflict("sip_id", f"an upper platform with ID {p.sip_id} exists")
            state = LinkState.REGISTERING if p.enabled else LinkState.DISABLED
            p = uow.gb_platforms.add(p, state)
            uow.audit.append(
                AuditEvent(now, actor.username, "gb_platform.create", "gb_platform", str(p.id),
                           after=p.audit_dict())
            )  # fmt: skip
            uow.commit()
            return PlatformView(p, uow.gb_platforms.state(p.id or 0))

    def update(self, actor: Principal, platform_id: int, data: PlatformInput) -> PlatformView:
        actor.require(Permission.REGISTRY_WRITE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "gb_platform.update",
                                 "gb_platform", platform_id)  # fmt: skip
        with logged, self._uow() as uow:
            before = uow.gb_platforms.get(platform_id)
            if before is None:
                raise NotFound("gb_platform", platform_id)
            p = _platform(platform_id, data, data.password or before.password, before.created_at)
            if errors := check_platform(p):
                raise ValidationFailed(errors)
            if any(o.sip_id == p.sip_id and o.id != platform_id for o in uow.gb_platforms.find()):
                raise Conflict("sip_id", f"an upper platform with ID {p.sip_id} exists")
            if p.network is not before.network:
                self._check_shares_still_allowed(uow, p)
            uow.gb_platforms.update(p)
            state = LinkState.REGISTERING if p.enabled else LinkState.DISABLED
            uow.gb_platforms.set_state(PlatformState(platform_id, state, now))
            detail = {"password_changed": data.password is not None}
            uow.audit.append(
                AuditEvent(now, actor.username, "gb_platform.update", "gb_platform",
                           str(platform_id), before=before.audit_dict(), after=p.audit_dict(),
                           detail=detail)
            )  # fmt: skip
            uow.commit()
            return PlatformView(p, uow.gb_platforms.state(platform_id))

    def _check_shares_still_allowed(self, uow: CascadeUnitOfWork, p: UpperPlatform) -> None:
        """A new ID may move the platform to a network a shared camera must stay off."""
        for share in uow.gb_shares.find(p.id or 0):
            camera = uow.cameras.get(share.camera_id)
            site = uow.sites.get(camera.site_id) if camera else None
            if site is None:
                continue
            refusal = self._share_refusal(site, p)
            if refusal is not None:
                raise ValidationFailed(
                    dataclasses.replace(
                        refusal,
                        field="sip_id",
                        reason=f"camera {share.camera_id} is shared with it: {refusal.reason}",
                    )
                )

    def _share_refusal(self, site: Site, p: UpperPlatform) -> FieldError | None:
        duty = self._rules.effective(site.division_code, site.public_place_article)
        cites = duty.classified_no_internet.citations
        return share_refusal(
            site.is_classified,
            p.network,
            cites[0].rule_id if cites else None,
            cites[0].human if cites else None,
        )

    def platforms(self, actor: Principal) -> list[PlatformView]:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            return [
                PlatformView(p, uow.gb_platforms.state(p.id or 0)) for p in uow.gb_platforms.find()
            ]

    def get(self, actor: Principal, platform_id: int) -> PlatformView:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            p = uow.gb_platforms.get(platform_id)
            if p is None:
                raise NotFound("gb_platform", platform_id)
            return PlatformView(p, uow.gb_platforms.state(platform_id))

    # --- share lists ---------------------------------------------------------------------------

    def share(self, actor: Principal, platform_id: int, camera_id: int) -> Share:
        actor.require(Permission.REGISTRY_WRITE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "gb_share.add", "gb_platform",
                                 platform_id, {"camera_id": camera_id})  # fmt: skip
        with logged, self._uow() as uow:
            p = uow.gb_platforms.get(platform_id)
            if p is None:
                raise NotFound("gb_platform", platform_id)
            camera, site = _camera_and_site(uow, actor, camera_id)
            refusal = self._share_refusal(site, p)
            if refusal is not None:
                raise ValidationFailed(refusal)
            found = uow.gb_shares.get(platform_id, camera_id)
            if found is not None:
                return found
            s = uow.gb_shares.add(Share(None, platform_id, camera_id, actor.username, now))
            uow.audit.append(
                AuditEvent(now, actor.username, "gb_share.add", "gb_platform", str(platform_id),
                           detail={"camera_id": camera_id, "address_code": camera.address_code,
                                   "platform_sip_id": p.sip_id})
            )  # fmt: skip
            uow.commit()
            return s

    def unshare(self, actor: Principal, platform_id: int, camera_id: int) -> None:
        actor.require(Permission.REGISTRY_WRITE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "gb_share.remove", "gb_platform",
                                 platform_id, {"camera_id": camera_id})  # fmt: skip
        with logged, self._uow() as uow:
            p = uow.gb_platforms.get(platform_id)
            if p is None:
                raise NotFound("gb_platform", platform_id)
            camera, _ = _camera_and_site(uow, actor, camera_id)
            if uow.gb_shares.get(platform_id, camera_id) is None:
                raise NotFound("gb_share", camera_id)
            uow.gb_shares.remove(platform_id, camera_id)
            uow.audit.append(
                AuditEvent(now, actor.username, "gb_share.remove", "gb_platform",
                           str(platform_id), detail={"camera_id": camera_id,
                                                     "address_code": camera.address_code,
                                                     "platform_sip_id": p.sip_id})
            )  # fmt: skip
            uow.commit()

    def shares(self, actor: Principal, platform_id: int) -> list[Share]:
        """The platform's shares the actor may see (a unit's own cameras for unit roles)."""
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            if uow.gb_platforms.get(platform_id) is None:
                raise NotFound("gb_platform", platform_id)
            found = uow.gb_shares.find(platform_id)
            if actor.role not in UNIT_SCOPED_ROLES:
                return found
            own = {s.id for s in uow.sites.find(actor.unit_id)}
            cams = {c.id for c in uow.cameras.find([i for i in own if i is not None])}
            return [s for s in found if s.camera_id in cams]

    # --- what the cascade client asks ----------------------------------------------------------

    def enabled_platforms(self) -> list[UpperPlatform]:
        with self._uow() as uow:
            return uow.gb_platforms.find(enabled_only=True)

    def record_state(self, s: PlatformState) -> None:
        with self._uow() as uow:
            uow.gb_platforms.set_state(s)
            uow.commit()

    def catalog(self, platform_id: int) -> list[CatalogEntry]:
        """Exactly the cameras shared with the platform, in address-code order; a share that
        the rules no longer allow (its site became classified since) is left out."""
        with self._uow() as uow:
            p = uow.gb_platforms.get(platform_id)
            if p is None:
                return []
            entries: list[CatalogEntry] = []
            for s in uow.gb_shares.find(platform_id):
                cam = uow.cameras.get(s.camera_id)
                site = uow.sites.get(cam.site_id) if cam else None
                if cam is None or site is None or self._share_refusal(site, p) is not None:
                    continue
                entries.append(
                    CatalogEntry(
                        cam.address_code, cam.name, cam.manufacturer, cam.model,
                        site.address, cam.state in _LIVE_STATES,
                    )
                )  # fmt: skip
            return sorted(entries, key=lambda e: e.device_id)

    def is_shared(self, platform_id: int, device_id: str) -> bool:
        """Whether the platform may have the camera now (shared, and still allowed)."""
        return any(e.device_id == device_id for e in self.catalog(platform_id))

    def shared_camera(self, platform_id: int, device_id: str) -> int | None:
        """The id of the camera with that address code if the platform may have it now (shared,
        and still allowed on its network); else None."""
        with self._uow() as uow:
            p = uow.gb_platforms.get(platform_id)
            if p is None:
                return None
            for s in uow.gb_shares.find(platform_id):
                cam = uow.cameras.get(s.camera_id)
                if cam is None or cam.address_code != device_id:
                    continue
                site = uow.sites.get(cam.site_id)
                if site is not None and self._share_refusal(site, p) is None:
                    return cam.id
            return None

    def log_link_event(
        self, platform: UpperPlatform, action: str, detail: dict[str, Any], refused: bool
    ) -> None:
        """A SIP request from the upper platform Custos answered (an INVITE, a query)."""

        with self._uow() as uow:
            uow.audit.append(
                AuditEvent(self._clock.now(), f"gb:{platform.sip_id}", action, "gb_platform",
                           str(platform.id), Outcome.REFUSED if refused else Outcome.OK,
                           detail=detail)
            )  # fmt: skip
            uow.commit()


def cascade_findings(uow: CascadeUnitOfWork, rules: RuleBook, site: Site) -> list[Finding]:
    """The reserved networking interface, where a pack of the site's division states the duty
    (``network.reserved_interface``: Chongqing art. 12 ¶1, Xi'an art. 14 ¶1) or punishes its
    absence (Chongqing art. 30(2)): no upper platform configured and enabled is a violation
    (the fine where a pack has one — Xi'an's has none), none registered now a warning, and one
    registered says the interface is present (info, ``cascade.reserved_interface_present``,
    naming the registered platforms), citing the same articles."""
    packs = rules.packs_for_division(site.division_code)
    duties = [p.network.reserved_interface for p in packs if p.network.reserved_interface]
    penalties = [
        pen
        for pack in packs
        for pen in pack.penalties
        if pen.violation_key is ViolationKey.NO_RESERVED_INTERFACE
    ]
    if not duties and not penalties:
        return []
    enabled = uow.gb_platforms.find(enabled_only=True)
    registered = [p for p in enabled if _registered(uow.gb_platforms.state(p.id or 0))]
    pen = penalties[0] if penalties else None
    punished = (*pen.violates, pen.citation) if pen else ()
    cites = tuple(dict.fromkeys((*duties, *punished)))  # in order, once each
    if registered:
        ids = ", ".join(p.sip_id for p in registered)
        return [
            Finding(
                code="cascade.reserved_interface_present",
                severity=Severity.INFO,
                subject=f"site:{site.id}",
                message=f"the reserved networking interface is present: upper platform {ids} "
                "registered",
                citations=cites,
                params={"registered": len(registered), "platforms": ids},
            )
        ]
    if not enabled:
        return [
            Finding(
                code="cascade.no_reserved_interface",
                severity=Severity.VIOLATION,
                subject=f"site:{site.id}",
                message="no upper platform (the police networking interface) is configured: "
                "configure a GB/T 28181 cascade",
                citations=cites,
                fine=pen.fine if pen else None,
                penalty_rule_id=pen.citation.rule_id if pen else None,
            )
        ]
    return [
        Finding(
            code="cascade.not_registered",
            severity=Severity.WARNING,
            subject=f"site:{site.id}",
            message=f"no configured upper platform is registered now ({len(enabled)} configured)",
            citations=cites,
            params={"configured": len(enabled)},
        )
    ]


def _registered(state: PlatformState | None) -> bool:
    return state is not None and state.state is LinkState.REGISTERED


def _platform(
    platform_id: int | None, d: PlatformInput, password: str, created_at: datetime
) -> UpperPlatform:
    return UpperPlatform(
        platform_id, d.sip_id.strip(), d.domain.strip(), d.host.strip(), d.port, d.transport,
        password, d.register_expiry_s, d.keepalive_interval_s, d.enabled, d.name.strip(),
        created_at,
    )  # fmt: skip


def _camera_and_site(uow: UnitOfWork, actor: Principal, camera_id: int) -> tuple[Camera, Site]:
    camera = uow.cameras.get(camera_id)
    site = uow.sites.get(camera.site_id) if camera else None
    scoped = actor.role in UNIT_SCOPED_ROLES and (site is None or site.unit_id != actor.unit_id)
    if camera is None or site is None or scoped:
        raise NotFound("camera", camera_id)
    return camera, site
