"""Request and response bodies. Inputs forbid unknown fields; outputs never carry secrets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from custos.domain.access import Role
from custos.domain.filing_recipient import filing_recipient
from custos.domain.kinds import LifecycleState, PublicPlaceArticle, UnitKind
from custos.domain.registry import Camera, Filing, FilingKind, Site, SiteType, Unit
from custos.domain.rules.terms import ApproverRole
from custos.domain.users import User, UserProfile
from custos.entrypoints.api.bounds import Id, RetentionDays


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(In):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_at: datetime
    username: str
    role: Role


class ProfileIn(In):
    full_name: str = Field(default="", max_length=100)
    jurisdiction: str | None = Field(default=None, description="GB/T 2260 division code")
    approver_title: ApproverRole | None = None
    scopes: list[str] = Field(default_factory=list, max_length=500)

    def domain(self) -> UserProfile:
        return UserProfile(
            self.full_name, self.jurisdiction, self.approver_title, tuple(self.scopes)
        )


class UserIn(ProfileIn):
    username: str
    role: Role
    password: str = Field(max_length=1024)
    unit_id: Id | None = None


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    unit_id: int | None
    active: bool
    full_name: str
    jurisdiction: str | None
    approver_title: ApproverRole | None
    scopes: list[str]

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            id=u.id or 0,
            username=u.username,
            role=u.role,
            unit_id=u.unit_id,
            active=u.active,
            full_name=u.full_name,
            jurisdiction=u.jurisdiction,
            approver_title=u.approver_title,
            scopes=list(u.scopes),
        )


class ContactIn(In):
    name: str = Field(max_length=100)
    phone: str = Field(max_length=40)
    role: str = Field(default="", max_length=100)


class UnitIn(In):
    name: str = Field(max_length=200)
    credit_code: str = Field(max_length=40)
    kind: UnitKind
    contacts: list[ContactIn] = []


class UnitPatch(In):
    name: str | None = Field(default=None, max_length=200)
    credit_code: str | None = Field(default=None, max_length=40)
    kind: UnitKind | None = None
    contacts: list[ContactIn] | None = None


class UnitOut(BaseModel):
    id: int
    name: str
    credit_code: str
    kind: UnitKind
    contacts: list[dict[str, str]]

    @classmethod
    def of(cls, u: Unit) -> UnitOut:
        contacts = [{"name": c.name, "phone": c.phone, "role": c.role} for c in u.contacts]
        return cls(
            id=u.id or 0, name=u.name, credit_code=u.credit_code, kind=u.kind, contacts=contacts
        )


class SiteIn(In):
    unit_id: Id
    name: str = Field(max_length=200)
    division_code: str = Field(max_length=12)
    address: str = Field(max_length=500)
    is_public_place: bool
    public_place_article: PublicPlaceArticle
    is_public_road_or_square: bool = False
    is_classified: bool = False
    categories: list[str] = []
    latitude: float | None = None
    longitude: float | None = None
    site_type: SiteType = SiteType.FIXED
    government_invested: bool = Field(
        default=False, description="built with government investment (Liaoning art. 13 signage)"
    )
    division_name: str = Field(
        default="",
        max_length=60,
        description="the county-level division's name (西安市雁塔区): names the filing recipient",
    )


class SitePatch(In):
    name: str | None = Field(default=None, max_length=200)
    division_code: str | None = Field(default=None, max_length=12)
    address: str | None = Field(default=None, max_length=500)
    is_public_place: bool | None = None
    public_place_article: PublicPlaceArticle | None = None
    is_public_road_or_square: bool | None = None
    is_classified: bool | None = None
    categories: list[str] | None = None
    latitude: float | None = None
    longitude: float | None = None
    site_type: SiteType | None = None
    government_invested: bool | None = None
    division_name: str | None = Field(default=None, max_length=60)


class SiteOut(BaseModel):
    id: int
    unit_id: int
    name: str
    division_code: str
    address: str
    latitude: float | None
    longitude: float | None
    is_public_place: bool
    public_place_article: PublicPlaceArticle
    is_public_road_or_square: bool
    is_classified: bool
    categories: list[str]
    site_type: SiteType
    government_invested: bool
    division_name: str
    filing_recipient: dict[str, Any] = Field(
        description="the public-security organ of the site's county that receives its filings"
    )
    rule_packs: list[str]

    @classmethod
    def of(cls, s: Site, packs: list[str]) -> SiteOut:
        return cls(
            id=s.id or 0,
            unit_id=s.unit_id,
            name=s.name,
            division_code=s.division_code,
            address=s.address,
            latitude=s.latitude,
            longitude=s.longitude,
            is_public_place=s.is_public_place,
            public_place_article=s.public_place_article,
            is_public_road_or_square=s.is_public_road_or_square,
            is_classified=s.is_classified,
            categories=list(s.categories),
            site_type=s.site_type,
            government_invested=s.government_invested,
            division_name=s.division_name,
            filing_recipient=filing_recipient(s.division_code, s.division_name).as_dict(),
            rule_packs=packs,
        )


class SignageIn(In):
    installed: bool = False
    installed_on: date | None = None
    photo_ref: str | None = Field(default=None, max_length=500)


class StepIn(In):
    state: LifecycleState
    on: date


class CameraIn(In):
    site_id: Id
    address_code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    location_categories: list[str]
    device_type: str = Field(default="", max_length=100)
    manufacturer: str = Field(default="", max_length=100)
    model: str = Field(default="", max_length=100)
    install_position: str = Field(default="", max_length=500)
    field_of_view: str = Field(default="", max_length=500)
    covers_public_area: bool = False
    captures_public_area_outside_premises: bool = False
    signage: SignageIn = SignageIn()
    main_stream_url: str | None = Field(default=None, max_length=1000)
    sub_stream_url: str | None = Field(default=None, max_length=1000)
    retention_days: RetentionDays | None = None
    ptz: bool = False
    history: list[StepIn] = Field(
        default=[], description="lifecycle steps already taken, oldest first (for existing cameras)"
    )


class CameraPatch(In):
    site_id: Id | None = None
    address_code: str | None = Field(
        default=None,
        max_length=40,
        description="the GB/T 28181 device code; re-checked against the site and the placement "
        "rules (e.g. an Internet network digit at a classified site, Xi'an art. 20)",
    )
    name: str | None = Field(default=None, max_length=200)
    location_categories: list[str] | None = None
    device_type: str | None = Field(default=None, max_length=100)
    manufacturer: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    install_position: str | None = Field(default=None, max_length=500)
    field_of_view: str | None = Field(default=None, max_length=500)
    covers_public_area: bool | None = None
    captures_public_area_outside_premises: bool | None = None
    signage: SignageIn | None = None
    main_stream_url: str | None = Field(default=None, max_length=1000)
    sub_stream_url: str | None = Field(default=None, max_length=1000)
    retention_days: RetentionDays | None = None
    ptz: bool | None = None


class TransitionIn(In):
    state: LifecycleState
    on: date


class CameraOut(BaseModel):
    id: int
    site_id: int
    name: str
    address_code: str | None = Field(description="base information: hidden without base_info.read")
    install_position: str | None = Field(description="base information, as address_code")
    device_type: str | None
    manufacturer: str
    model: str
    field_of_view: str
    location_categories: list[str]
    covers_public_area: bool
    captures_public_area_outside_premises: bool
    signage: dict[str, Any]
    main_stream_url: str | None = Field(description="credentials are never returned")
    sub_stream_url: str | None
    has_stream_credentials: bool
    retention_days: int | None
    effective_retention_days: int
    ptz: bool
    state: LifecycleState
    lifecycle: list[dict[str, Any]]
    warnings: list[dict[str, Any]] = []

    @classmethod
    def of(
        cls, c: Camera, floor: int, base_info: bool, warnings: list[dict[str, Any]]
    ) -> CameraOut:
        streams = [s for s in (c.main_stream, c.sub_stream) if s is not None]
        return cls(
            id=c.id or 0,
            site_id=c.site_id,
            name=c.name,
            address_code=c.address_code if base_info else None,
            install_position=c.install_position if base_info else None,
            device_type=c.device_type if base_info else None,
            manufacturer=c.manufacturer,
            model=c.model,
            field_of_view=c.field_of_view,
            location_categories=list(c.location_categories),
            covers_public_area=c.covers_public_area,
            captures_public_area_outside_premises=c.captures_public_area_outside_premises,
            signage={
                "installed": c.signage.installed,
                "installed_on": c.signage.installed_on,
                "photo_ref": c.signage.photo_ref,
            },
            main_stream_url=c.main_stream.redacted() if c.main_stream else None,
            sub_stream_url=c.sub_stream.redacted() if c.sub_stream else None,
            has_stream_credentials=any(s.has_credentials for s in streams),
            retention_days=c.retention_days,
            effective_retention_days=max(floor, c.retention_days or 0),
            ptz=c.ptz,
            state=c.state,
            lifecycle=[{"state": e.state, "on": e.on} for e in c.lifecycle],
            warnings=warnings,
        )


class FilingIn(In):
    kind: FilingKind
    trigger_date: date
    filed_on: date | None = None
    recipient: str = Field(max_length=200)
    receipt_number: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=2000)
    camera_id: Id | None = Field(default=None, description="the camera a change/removal is about")


class FilingOut(BaseModel):
    id: int
    site_id: int
    kind: FilingKind
    trigger_date: date
    filed_on: date | None
    recipient: str
    receipt_number: str
    note: str
    camera_id: int | None

    @classmethod
    def of(cls, f: Filing) -> FilingOut:
        return cls(
            id=f.id or 0,
            site_id=f.site_id,
            kind=f.kind,
            trigger_date=f.trigger_date,
            filed_on=f.filed_on,
            recipient=f.recipient,
            receipt_number=f.receipt_number,
            note=f.note,
            camera_id=f.camera_id,
        )
