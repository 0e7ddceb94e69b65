"""Use-cases of the registry: units, sites, cameras, lifecycle and filings.

Every change is validated (field rules, then the rule engine), written and audited in one
transaction; a refusal changes nothing and is itself entered in the operation log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.codes import RECORDABLE_TYPE_CODES, AddressCode, CreditCode, DivisionCode
from custos.domain.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    RuleRefusal,
    ValidationFailed,
)
from custos.domain.filing_recipient import division_name_problem
from custos.domain.gb_media import GbSource
from custos.domain.kinds import LifecycleState, PublicPlaceArticle, UnitKind
from custos.domain.registry import (
    Camera,
    Contact,
    Filing,
    FilingKind,
    Signage,
    Site,
    SiteType,
    StreamUrl,
    Unit,
)
from custos.domain.rules import RuleBook
from custos.domain.users import Principal
from custos.domain.visibility import reaches_camera, reaches_site
from custos.services import placement
from custos.services.ports import UnitOfWork, UnitOfWorkFactory
from custos.services.snapshots import snapshot

T = TypeVar("T")

#: Editing these on a camera in service is a change to be filed (obligations §8 F-01).
FILED_CAMERA_FIELDS = frozenset(
    {
        "address_code",
        "install_position",
        "field_of_view",
        "location_categories",
        "covers_public_area",
        "captures_public_area_outside_premises",
        "retention_days",
        "ptz",
        "site_id",
    }
)


@dataclass
class UnitInput:
    name: str
    credit_code: str
    kind: UnitKind
    contacts: list[Contact] = field(default_factory=list)


@dataclass
class SiteInput:
    unit_id: int
    name: str
    division_code: str
    address: str
    is_public_place: bool
    public_place_article: PublicPlaceArticle
    is_public_road_or_square: bool = False
    is_classified: bool = False
    categories: list[str] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    site_type: SiteType = SiteType.FIXED
    government_invested: bool = False
    division_name: str = ""


@dataclass
class LifecycleStep:
    state: LifecycleState
    on: date


@dataclass
class CameraInput:
    site_id: int
    address_code: str
    name: str
    location_categories: list[str]
    device_type: str = ""
    manufacturer: str = ""
    model: str = ""
    install_position: str = ""
    field_of_view: str = ""
    covers_public_area: bool = False
    captures_public_area_outside_premises: bool = False
    signage: Signage = field(default_factory=Signage)
    main_stream_url: str | None = field(default=None, repr=False)  # may carry credentials
    sub_stream_url: str | None = field(default=None, repr=False)
    retention_days: int | None = None
    ptz: bool = False
    history: list[LifecycleStep] = field(default_factory=list)
    #: the main stream of a camera placed from a GB/T 28181 channel (never a typed URL)
    gb_source: GbSource | None = None


@dataclass
class FilingInput:
    kind: FilingKind
    trigger_date: date
    filed_on: date | None
    recipient: str
    receipt_number: str = ""
    note: str = ""
    camera_id: int | None = None


#: Told of every write that can touch a site's filed attributes, inside the write's transaction
#: (uow, site id, the Shanghai date of the change, who): services/filing_changes.py.
OnChange = Callable[[UnitOfWork, int, date, Principal], object]


class RegistryService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        rules: RuleBook,
        clock: Clock,
        on_change: OnChange | None = None,
    ) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock
        self._on_change = on_change

    # ---- units -------------------------------------------------------------------------
    def create_unit(self, actor: Principal, data: UnitInput) -> Unit:
        actor.require(Permission.REGISTRY_WRITE)
        if actor.role in UNIT_SCOPED_ROLES:
            raise PermissionDenied("a unit-scoped user cannot register new units")
        unit = Unit(None, data.name.strip(), data.credit_code.strip(), data.kind, data.contacts)
        _check_unit(unit)
        with self._uow() as uow:
            if uow.units.by_credit_code(unit.credit_code):
                raise Conflict("credit_code", f"a unit with credit code {unit.credit_code} exists")
            uow.units.add(unit)
            self._audit(uow, actor, "unit.create", "unit", unit.id, None, unit)
            uow.commit()
        return unit

    def update_unit(self, actor: Principal, unit_id: int, changes: dict[str, Any]) -> Unit:
        actor.require(Permission.REGISTRY_WRITE)
        with self._uow() as uow:
            unit = self._unit_in_scope(uow, actor, unit_id)
            before = snapshot(unit)
            updated = _replace(unit, changes, {"name", "credit_code", "kind", "contacts"})
            _check_unit(updated)
            other = uow.units.by_credit_code(updated.credit_code)
            if other and other.id != unit_id:
                raise Conflict(
                    "credit_code", f"a unit with credit code {updated.credit_code} exists"
                )
            uow.units.update(updated)
            self._audit(uow, actor, "unit.update", "unit", unit_id, before, updated)
            for site in uow.sites.find(unit_id):  # the user unit is a filed attribute
                self._changed(uow, actor, site.id, shanghai_date(self._clock.now()))
            uow.commit()
        return updated

    def list_units(self, actor: Principal) -> list[Unit]:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            return uow.units.find(_scope(actor))

    def get_unit(self, actor: Principal, unit_id: int) -> Unit:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            return self._unit_in_scope(uow, actor, unit_id)

    # ---- sites -------------------------------------------------------------------------
    def create_site(self, actor: Principal, data: SiteInput) -> Site:
        actor.require(Permission.REGISTRY_WRITE)
        site = Site(None, **dataclasses.asdict(data) | {"site_type": data.site_type})
        site.categories = list(data.categories)
        with self._uow() as uow:
            self._unit_in_scope(uow, actor, site.unit_id, field_name="unit_id")
            _check_site(site, self._rules)
            uow.sites.add(site)
            self._audit(uow, actor, "site.create", "site", site.id, None, site)
            uow.commit()
        return site

    def update_site(self, actor: Principal, site_id: int, changes: dict[str, Any]) -> Site:
        actor.require(Permission.REGISTRY_WRITE)
        logged = self._refusals_logged(actor, "site.update", "site", site_id)
        with logged, self._uow() as uow:
            site = self._site_in_scope(uow, actor, site_id)
            before = snapshot(site)
            updated = _replace(
                site, changes, {f.name for f in dataclasses.fields(Site)} - {"id", "unit_id"}
            )
            _check_site(updated, self._rules)
            cameras = uow.cameras.find([site_id])
            unit = self._unit_in_scope(uow, actor, updated.unit_id)
            refusals = [
                err
                for cam in cameras
                for err in placement.violations(
                    self._rules, unit, updated, cam, f"cameras[{cam.id}]."
                )
            ]
            if refusals:
                raise RuleRefusal(refusals)
            uow.sites.update(updated)
            self._audit(uow, actor, "site.update", "site", site_id, before, updated)
            self._changed(uow, actor, site_id, shanghai_date(self._clock.now()))
            uow.commit()
        return updated

    def list_sites(self, actor: Principal, unit_id: int | None = None) -> list[Site]:
        actor.require(Permission.REGISTRY_READ)
        scope = _scope(actor)
        if scope is not None and unit_id is not None and unit_id != scope:
            return []
        with self._uow() as uow:
            found = uow.sites.find(scope if scope is not None else unit_id)
        return [s for s in found if reaches_site(actor, s.unit_id, s.division_code)]

    def get_site(self, actor: Principal, site_id: int) -> Site:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            return self._site_in_scope(uow, actor, site_id)

    # ---- cameras -----------------------------------------------------------------------
    def create_camera(self, actor: Principal, data: CameraInput) -> Camera:
        actor.require(Permission.CAMERA_MANAGE)
        now = self._clock.now()
        today = shanghai_date(now)
        cam = _camera_from_input(data)
        with self._refusals_logged(actor, "camera.create", "camera", None), self._uow() as uow:
            site = self._site_in_scope(uow, actor, data.site_id, field_name="site_id")
            unit = self._unit_in_scope(uow, actor, site.unit_id)
            self._validate_camera(uow, actor, unit, site, cam, today, "camera.create")
            for step in data.history:
                cam.transition(step.state, step.on, today, now)
            uow.cameras.add(cam)
            self._audit(uow, actor, "camera.create", "camera", cam.id, None, cam)
            self._changed(uow, actor, cam.site_id, today)
            uow.commit()
        return cam

    def update_camera(self, actor: Principal, camera_id: int, changes: dict[str, Any]) -> Camera:
        actor.require(Permission.CAMERA_MANAGE)
        now = self._clock.now()
        today = shanghai_date(now)
        logged = self._refusals_logged(actor, "camera.update", "camera", camera_id)
        with logged, self._uow() as uow:
            cam = self._camera_in_scope(uow, actor, camera_id)
            before = snapshot(cam)
            updated = _apply_camera_changes(cam, changes)
            site = self._site_in_scope(uow, actor, updated.site_id, field_name="site_id")
            unit = self._unit_in_scope(uow, actor, site.unit_id)
            self._validate_camera(uow, actor, unit, site, updated, today, "camera.update")
            touched = {k for k in changes if getattr(cam, k, None) != getattr(updated, k, None)}
            if touched & FILED_CAMERA_FIELDS and updated.state is LifecycleState.IN_SERVICE:
                kind = LifecycleState.RELOCATED if "site_id" in touched else LifecycleState.CHANGED
                updated.transition(kind, today, today, now)
            uow.cameras.update(updated)
            self._audit(uow, actor, "camera.update", "camera", camera_id, before, updated)
            for changed_site in dict.fromkeys([cam.site_id, updated.site_id]):
                self._changed(uow, actor, changed_site, today)
            uow.commit()
        return updated

    def transition_camera(
        self, actor: Principal, camera_id: int, state: LifecycleState, on: date
    ) -> Camera:
        actor.require(Permission.CAMERA_MANAGE)
        now = self._clock.now()
        with self._uow() as uow:
            cam = self._camera_in_scope(uow, actor, camera_id)
            before = snapshot(cam)
            cam.transition(state, on, shanghai_date(now), now)
            uow.cameras.update(cam)
            self._audit(uow, actor, "camera.transition", "camera", camera_id, before, cam)
            self._changed(uow, actor, cam.site_id, on)
            uow.commit()
        return cam

    def list_cameras(self, actor: Principal, site_id: int | None = None) -> list[Camera]:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            if site_id is not None:
                sites = [self._site_in_scope(uow, actor, site_id)]
            else:
                sites = [
                    s
                    for s in uow.sites.find(_scope(actor))
                    if reaches_site(actor, s.unit_id, s.division_code)
                ]
            by_id = {s.id: s for s in sites}
            return [
                cam
                for cam in uow.cameras.find([i for i in by_id if i is not None])
                if reaches_camera(actor, by_id[cam.site_id].unit_id, cam.site_id, cam.id or 0)
            ]

    def get_camera(self, actor: Principal, camera_id: int) -> Camera:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            return self._camera_in_scope(uow, actor, camera_id)

    def camera_context(self, actor: Principal, camera_id: int) -> tuple[Unit, Site, Camera]:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            cam = self._camera_in_scope(uow, actor, camera_id)
            site = self._site_in_scope(uow, actor, cam.site_id)
            return self._unit_in_scope(uow, actor, site.unit_id), site, cam

    # ---- filings -----------------------------------------------------------------------
    def add_filing(self, actor: Principal, site_id: int, data: FilingInput) -> Filing:
        actor.require(Permission.FILING_WRITE)
        today = shanghai_date(self._clock.now())
        errors = []
        if data.filed_on is not None and data.filed_on < data.trigger_date:
            errors.append(FieldError("filed_on", "is before trigger_date (dates inverted)"))
        if data.filed_on is not None and data.filed_on > today:
            errors.append(FieldError("filed_on", f"{data.filed_on.isoformat()} is in the future"))
        if data.trigger_date > today:
            errors.append(
                FieldError("trigger_date", f"{data.trigger_date.isoformat()} is in the future")
            )
        if not data.recipient.strip():
            errors.append(FieldError("recipient", "name the police organ the filing went to"))
        if errors:
            raise ValidationFailed(errors)
        with self._uow() as uow:
            self._site_in_scope(uow, actor, site_id)
            cam = uow.cameras.get(data.camera_id) if data.camera_id is not None else None
            if data.camera_id is not None and (cam is None or cam.site_id != site_id):
                raise ValidationFailed(
                    [FieldError("camera_id", f"no camera {data.camera_id} on site {site_id}")]
                )
            filing = uow.filings.add(Filing(None, site_id, **dataclasses.asdict(data)))
            self._audit(uow, actor, "filing.create", "filing", filing.id, None, filing)
            uow.commit()
        return filing

    def list_filings(self, actor: Principal, site_id: int) -> list[Filing]:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            self._site_in_scope(uow, actor, site_id)
            return uow.filings.find([site_id])

    # ---- helpers -----------------------------------------------------------------------
    def _changed(self, uow: UnitOfWork, actor: Principal, site_id: int | None, on: date) -> None:
        """Tell the filing loop a filed attribute may have changed (same transaction)."""
        if self._on_change is not None and site_id is not None:
            self._on_change(uow, site_id, on, actor)

    def _validate_camera(
        self,
        uow: UnitOfWork,
        actor: Principal,
        unit: Unit,
        site: Site,
        cam: Camera,
        today: date,
        action: str,
    ) -> None:
        errors = _check_camera_fields(cam, site, today, self._rules)
        if errors:
            raise ValidationFailed(errors)
        other = uow.cameras.by_address_code(cam.address_code)
        if other is not None and other.id != cam.id:
            raise Conflict("address_code", f"address code {cam.address_code} is already registered")
        refusals = placement.violations(self._rules, unit, site, cam)
        if refusals:
            raise RuleRefusal(refusals)

    @contextmanager
    def _refusals_logged(
        self, actor: Principal, action: str, kind: str, obj_id: int | None
    ) -> Iterator[None]:
        """Enter a rule refusal in the operation log, after the refused transaction is gone."""
        try:
            yield
        except RuleRefusal as exc:
            with self._uow() as log_uow:
                log_uow.audit.append(
                    AuditEvent(
                        self._clock.now(),
                        actor.username,
                        action,
                        kind,
                        None if obj_id is None else str(obj_id),
                        Outcome.REFUSED,
                        detail={"refusals": [dataclasses.asdict(e) for e in exc.errors]},
                    )
                )
                log_uow.commit()
            raise

    def _audit(
        self,
        uow: UnitOfWork,
        actor: Principal,
        action: str,
        kind: str,
        obj_id: int | None,
        before: dict[str, Any] | None,
        after: Any,
    ) -> None:
        uow.audit.append(
            AuditEvent(
                self._clock.now(),
                actor.username,
                action,
                kind,
                None if obj_id is None else str(obj_id),
                Outcome.OK,
                before,
                snapshot(after),
            )
        )

    def _unit_in_scope(
        self, uow: UnitOfWork, actor: Principal, unit_id: int, field_name: str | None = None
    ) -> Unit:
        unit = uow.units.get(unit_id)
        scope = _scope(actor)
        if unit is None or (scope is not None and unit_id != scope):
            if field_name:
                raise ValidationFailed(
                    [FieldError(field_name, f"no unit {unit_id} that you can see")]
                )
            raise NotFound("unit", unit_id)
        return unit

    def _site_in_scope(
        self, uow: UnitOfWork, actor: Principal, site_id: int, field_name: str | None = None
    ) -> Site:
        site = uow.sites.get(site_id)
        if site is None or not reaches_site(actor, site.unit_id, site.division_code):
            if field_name:
                raise ValidationFailed(
                    [FieldError(field_name, f"no site {site_id} that you can see")]
                )
            raise NotFound("site", site_id)
        return site

    def _camera_in_scope(self, uow: UnitOfWork, actor: Principal, camera_id: int) -> Camera:
        cam = uow.cameras.get(camera_id)
        if cam is None:
            raise NotFound("camera", camera_id)
        site = self._site_in_scope(uow, actor, cam.site_id)
        if not reaches_camera(actor, site.unit_id, site.id or 0, camera_id):
            raise NotFound("camera", camera_id)
        return cam


def _scope(actor: Principal) -> int | None:
    """The only unit a unit-scoped user may see, or None for no unit restriction."""
    if actor.role in UNIT_SCOPED_ROLES:
        return actor.unit_id if actor.unit_id is not None else -1
    return None


def _replace(obj: T, changes: dict[str, Any], allowed: set[str]) -> T:
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationFailed([FieldError(k, "cannot be changed here") for k in unknown])
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


def _check_unit(unit: Unit) -> None:
    errors: list[FieldError] = []
    if not unit.name:
        errors.append(FieldError("name", "must not be empty"))
    try:
        CreditCode.parse(unit.credit_code, field="credit_code")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    for i, c in enumerate(unit.contacts):
        if not c.name.strip():
            errors.append(FieldError(f"contacts[{i}].name", "must not be empty"))
        if not c.phone.strip() or not all(ch.isdigit() or ch in "+- " for ch in c.phone):
            errors.append(FieldError(f"contacts[{i}].phone", "digits, spaces, '+' and '-' only"))
    if errors:
        raise ValidationFailed(errors)


def _check_site(site: Site, rules: RuleBook) -> None:
    errors: list[FieldError] = []
    if not site.name.strip():
        errors.append(FieldError("name", "must not be empty"))
    try:
        DivisionCode.parse(site.division_code, field="division_code")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if site.latitude is not None and not -90 <= site.latitude <= 90:
        errors.append(FieldError("latitude", "must be between -90 and 90"))
    if site.longitude is not None and not -180 <= site.longitude <= 180:
        errors.append(FieldError("longitude", "must be between -180 and 180"))
    not_public = site.public_place_article is PublicPlaceArticle.NOT_PUBLIC
    if site.is_public_place == not_public:
        errors.append(
            FieldError(
                "public_place_article",
                "a public place is governed by Decree 799 art. 7 ¶1, art. 7 ¶2 or art. 9; "
                "'not_public' is only for sites that are not public places (art. 33)",
            )
        )
    errors.extend(
        FieldError("categories", f"unknown category key {k!r}")
        for k in sorted(rules.unknown_categories(site.categories))
    )
    if problem := division_name_problem(site.division_name, site.division_code):
        errors.append(FieldError("division_name", problem))
    if errors:
        raise ValidationFailed(errors)


def _check_camera_fields(cam: Camera, site: Site, today: date, rules: RuleBook) -> list[FieldError]:
    errors: list[FieldError] = []
    if not cam.name.strip():
        errors.append(FieldError("name", "must not be empty"))
    try:
        code = AddressCode.parse(cam.address_code, field="address_code")
        if not code.is_recordable:
            allowed = ", ".join(sorted(RECORDABLE_TYPE_CODES))
            errors.append(
                FieldError(
                    "address_code",
                    f"type code {code.type_code} ({code.type_name or 'unnamed'}) is not a video "
                    f"source; a camera's address code needs one of {allowed} (GB/T 28181)",
                    key="code.not_video_source",
                    params={"code": code.type_code, "allowed": allowed},
                )
            )
        errors.extend(
            code.check_against_division(
                DivisionCode.parse(site.division_code), field="address_code"
            )
        )
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if not cam.location_categories and site.public_place_article is not PublicPlaceArticle.ART9:
        # art. 9 places (other public places) are on no list; elsewhere the keys are the
        # operator's attestation of what the camera covers (mandatory and prohibited lists)
        errors.append(
            FieldError(
                "location_categories",
                "give at least one location category key (only a camera at a site governed by "
                "Decree 799 art. 9 may have none)",
            )
        )
    errors.extend(
        FieldError("location_categories", f"unknown category key {k!r}")
        for k in sorted(rules.unknown_categories(cam.location_categories))
    )
    if cam.retention_days is not None and not 1 <= cam.retention_days <= 3650:
        errors.append(FieldError("retention_days", "must be between 1 and 3650 days"))
    if cam.signage.installed_on is not None and cam.signage.installed_on > today:
        errors.append(FieldError("signage.installed_on", "is in the future"))
    if cam.signage.installed_on is not None and not cam.signage.installed:
        errors.append(FieldError("signage.installed_on", "given but signage.installed is false"))
    return errors


def _stream(
    text: str | None, field_name: str, current: StreamUrl | None = None
) -> StreamUrl | None:
    """Parse a stream URL. One whose every credential is the mask (``***``, as the API shows
    it) keeps the credentials already stored, when the rest of it is the same."""
    if text is None or text == "":
        return None
    if current is not None and current.gb_source is not None and text.strip() == current.public:
        return current  # a placed channel's stream, sent back as shown
    url = StreamUrl.parse(text, field_name)
    if not url.masked_only():
        return url
    if current is not None and current.redacted() == url.redacted():
        return current
    reason = "its credentials are masked (***): give the real ones, or a URL without them"
    raise ValidationFailed([FieldError(field_name, reason)])


def _camera_from_input(d: CameraInput) -> Camera:
    errors: list[FieldError] = []
    streams: dict[str, StreamUrl | None] = {}
    for name in ("main_stream_url", "sub_stream_url"):
        try:
            streams[name] = _stream(getattr(d, name), name)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    if d.gb_source is not None:
        streams["main_stream_url"] = StreamUrl.gb(d.gb_source)
    return Camera(
        id=None,
        site_id=d.site_id,
        address_code=d.address_code.strip(),
        name=d.name.strip(),
        device_type=d.device_type,
        manufacturer=d.manufacturer,
        model=d.model,
        install_position=d.install_position,
        field_of_view=d.field_of_view,
        location_categories=list(dict.fromkeys(d.location_categories)),
        covers_public_area=d.covers_public_area,
        captures_public_area_outside_premises=d.captures_public_area_outside_premises,
        signage=d.signage,
        main_stream=streams["main_stream_url"],
        sub_stream=streams["sub_stream_url"],
        retention_days=d.retention_days,
        ptz=d.ptz,
    )


_CAMERA_EDITABLE = {
    "site_id",
    "address_code",
    "name",
    "device_type",
    "manufacturer",
    "model",
    "install_position",
    "field_of_view",
    "location_categories",
    "covers_public_area",
    "captures_public_area_outside_premises",
    "signage",
    "retention_days",
    "ptz",
}


def _apply_camera_changes(cam: Camera, changes: dict[str, Any]) -> Camera:
    plain = {k: v for k, v in changes.items() if k not in ("main_stream_url", "sub_stream_url")}
    if "address_code" in plain:
        if not isinstance(plain["address_code"], str) or not plain["address_code"].strip():
            raise ValidationFailed(FieldError("address_code", "must not be empty"))
        plain["address_code"] = plain["address_code"].strip()
    updated = _replace(cam, plain, _CAMERA_EDITABLE)
    updated.lifecycle = list(cam.lifecycle)
    converters: dict[str, Callable[[Any], StreamUrl | None]] = {
        "main_stream_url": lambda v: _stream(v, "main_stream_url", cam.main_stream),
        "sub_stream_url": lambda v: _stream(v, "sub_stream_url", cam.sub_stream),
    }
    for key, conv in converters.items():
        if key in changes:
            setattr(updated, key.removesuffix("_url"), conv(changes[key]))
    return updated
