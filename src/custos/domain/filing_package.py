"""The filing package (备案材料): one package for all packs, and the parts each pack makes
mandatory (docs/design/filing.md D2; obligations §8 F-07).

The registry holds the site, the user unit and the cameras; what it does not hold (the other
units, the responsible persons, the network, the documents, the system's own name and purpose)
is the site's **filing profile**. :func:`assemble` builds the package dict from both;
:func:`missing_parts` names every mandatory part that is empty, with the articles that make it
mandatory; :func:`canonical` gives the bytes whose SHA-256 is the package's identity.

Articles (the texts in shared/regulations):

- Decree 799 art. 14 ¶1 (national-2025:art14.p1): 单位基本情况、建设位置、图像采集设备数量及类型、
  视频图像信息存储期限等基本信息 — the profile, the units and persons, the cameras, the storage, and
  (等基本信息) the network.
- Beijing art. 11 ¶1: the system's 建设情况; Liaoning art. 12 ¶1: the filing itself (content
  unspecified); both make the system profile mandatory.
- Chongqing art. 16 ¶1: 设计技术方案和验收的相关材料 — the design scheme and the acceptance report.
- Xi'an art. 14: ¶1 设计方案论证 (the design scheme), ¶2 竣工验收 (the acceptance report).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from custos.domain.errors import FieldError, ValidationFailed

PACKAGE_FORMAT = "custos-filing-package/1"


class NetworkKind:
    ISOLATED = "isolated"
    PRIVATE = "private"
    POLICE_VIDEO_NETWORK = "police_video_network"
    INTERNET = "internet"
    ALL = ("isolated", "private", "police_video_network", "internet")


@dataclass(frozen=True)
class PackagePart:
    key: str
    content: str  # what the part holds, in English (the UI translates the key)
    citations: tuple[str, ...]  # the articles that make it mandatory

    def packs(self) -> frozenset[str]:
        return frozenset(c.split(":", 1)[0] for c in self.citations)


_DECREE = "national-2025:art14.p1"

#: The parts, in package order, with the articles that make each mandatory (design D2).
PACKAGE_PARTS: tuple[PackagePart, ...] = (
    PackagePart(
        "system_profile",
        "site name, address, division, type, public-place article, categories, classified",
        (_DECREE, "beijing-2007:art11.p1", "liaoning-2008:art12.p1", "chongqing-2016:art16.p1"),
    ),
    PackagePart(
        "units",
        "user unit (name, credit code), owner, builder, maintainer (name, contact)",
        (_DECREE,),
    ),
    PackagePart("responsible_persons", "at least one: name, phone, role", (_DECREE,)),
    PackagePart(
        "cameras",
        "every camera not removed: address code, type, position, categories, field of view",
        (_DECREE,),
    ),
    PackagePart("storage", "retention days per camera, storage kind", (_DECREE,)),
    PackagePart("network", "connection kind and description", (_DECREE,)),
    PackagePart(
        "design_scheme",
        "the design (technical) scheme, uploaded",
        ("chongqing-2016:art16.p1", "xian-2020:art14.p1"),
    ),
    PackagePart(
        "acceptance_report",
        "the acceptance materials, uploaded",
        ("chongqing-2016:art16.p1", "xian-2020:art14.p2"),
    ),
)
PART_KEYS = tuple(p.key for p in PACKAGE_PARTS)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_TEXT = 200
MAX_LONG_TEXT = 2000
MAX_PERSONS = 20


# ---- the filing profile ---------------------------------------------------------------------
@dataclass(frozen=True)
class PartyUnit:
    name: str = ""
    contact: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "contact": self.contact}

    @property
    def complete(self) -> bool:
        return bool(self.name.strip() and self.contact.strip())


@dataclass(frozen=True)
class ResponsiblePerson:
    name: str
    phone: str
    role: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "phone": self.phone, "role": self.role}


@dataclass(frozen=True)
class Document:
    sha256: str
    filename: str

    def as_dict(self) -> dict[str, str]:
        return {"sha256": self.sha256, "filename": self.filename}


@dataclass(frozen=True)
class FilingProfile:
    """What a filing needs that the registry does not hold; one per site, edited by the unit."""

    system_name: str = ""
    system_purpose: str = ""
    owner_unit: PartyUnit = field(default_factory=PartyUnit)
    builder_unit: PartyUnit = field(default_factory=PartyUnit)
    maintainer_unit: PartyUnit = field(default_factory=PartyUnit)
    responsible_persons: tuple[ResponsiblePerson, ...] = ()
    network_kind: str = ""  # NetworkKind.ALL, or "" when not said yet
    network_description: str = ""
    storage_description: str = ""
    design_scheme: Document | None = None
    acceptance_report: Document | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "system_name": self.system_name,
            "system_purpose": self.system_purpose,
            "owner_unit": self.owner_unit.as_dict(),
            "builder_unit": self.builder_unit.as_dict(),
            "maintainer_unit": self.maintainer_unit.as_dict(),
            "responsible_persons": [p.as_dict() for p in self.responsible_persons],
            "network": {"kind": self.network_kind, "description": self.network_description},
            "storage_description": self.storage_description,
            "design_scheme": self.design_scheme.as_dict() if self.design_scheme else None,
            "acceptance_report": (
                self.acceptance_report.as_dict() if self.acceptance_report else None
            ),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> FilingProfile:
        """From a stored profile (or None: the empty profile). Validation is :func:`check`."""
        if not d:
            return cls()
        network = d.get("network") or {}

        def party(key: str) -> PartyUnit:
            v = d.get(key) or {}
            return PartyUnit(str(v.get("name", "")), str(v.get("contact", "")))

        def doc(key: str) -> Document | None:
            v = d.get(key)
            return Document(str(v["sha256"]), str(v.get("filename", ""))) if v else None

        return cls(
            system_name=str(d.get("system_name", "")),
            system_purpose=str(d.get("system_purpose", "")),
            owner_unit=party("owner_unit"),
            builder_unit=party("builder_unit"),
            maintainer_unit=party("maintainer_unit"),
            responsible_persons=tuple(
                ResponsiblePerson(
                    str(p.get("name", "")), str(p.get("phone", "")), str(p.get("role", ""))
                )
                for p in d.get("responsible_persons") or []
            ),
            network_kind=str(network.get("kind", "") or ""),
            network_description=str(network.get("description", "")),
            storage_description=str(d.get("storage_description", "")),
            design_scheme=doc("design_scheme"),
            acceptance_report=doc("acceptance_report"),
        )


def check_profile(profile: FilingProfile) -> FilingProfile:
    """Refuse a malformed profile (an incomplete one is allowed: submit names what is missing)."""
    errors: list[FieldError] = []
    texts = {
        "system_name": profile.system_name,
        "owner_unit.name": profile.owner_unit.name,
        "owner_unit.contact": profile.owner_unit.contact,
        "builder_unit.name": profile.builder_unit.name,
        "builder_unit.contact": profile.builder_unit.contact,
        "maintainer_unit.name": profile.maintainer_unit.name,
        "maintainer_unit.contact": profile.maintainer_unit.contact,
    }
    for name, text in texts.items():
        if len(text) > MAX_TEXT:
            errors.append(FieldError(name, f"at most {MAX_TEXT} characters"))
    longs = {
        "system_purpose": profile.system_purpose,
        "network.description": profile.network_description,
        "storage_description": profile.storage_description,
    }
    for name, text in longs.items():
        if len(text) > MAX_LONG_TEXT:
            errors.append(FieldError(name, f"at most {MAX_LONG_TEXT} characters"))
    if profile.network_kind and profile.network_kind not in NetworkKind.ALL:
        errors.append(FieldError("network.kind", f"one of {', '.join(NetworkKind.ALL)}"))
    if len(profile.responsible_persons) > MAX_PERSONS:
        errors.append(FieldError("responsible_persons", f"at most {MAX_PERSONS} persons"))
    for i, person in enumerate(profile.responsible_persons):
        if not person.name.strip():
            errors.append(FieldError(f"responsible_persons[{i}].name", "a person has a name"))
        if not re.fullmatch(r"[0-9+\- ]{5,20}", person.phone):
            errors.append(
                FieldError(f"responsible_persons[{i}].phone", "a phone number: 5-20 digits")
            )
        if len(person.name) > MAX_TEXT or len(person.role) > MAX_TEXT:
            errors.append(FieldError(f"responsible_persons[{i}]", f"at most {MAX_TEXT} characters"))
    for name, d in (
        ("design_scheme", profile.design_scheme),
        ("acceptance_report", profile.acceptance_report),
    ):
        if d is not None and not _SHA256.match(d.sha256):
            errors.append(FieldError(f"{name}.sha256", "the SHA-256 of an uploaded document"))
        if d is not None and len(d.filename) > MAX_TEXT:
            errors.append(FieldError(f"{name}.filename", f"at most {MAX_TEXT} characters"))
    if errors:
        raise ValidationFailed(errors)
    return profile


# ---- the package ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CameraEntry:
    """One camera as filed (the service builds these from the registry and the packs)."""

    id: int
    address_code: str
    name: str
    device_type: str
    install_position: str
    location_categories: tuple[str, ...]
    field_of_view: str
    covers_public_area: bool
    signage_installed: bool
    state: str
    retention_days: int
    retention_citations: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "address_code": self.address_code,
            "name": self.name,
            "device_type": self.device_type,
            "install_position": self.install_position,
            "location_categories": sorted(self.location_categories),
            "field_of_view": self.field_of_view,
            "covers_public_area": self.covers_public_area,
            "signage_installed": self.signage_installed,
            "state": self.state,
        }


@dataclass(frozen=True)
class SiteEntry:
    id: int
    name: str
    address: str
    division_code: str
    division_full_name: str
    site_type: str
    public_place_article: str
    categories: tuple[str, ...]
    is_classified: bool


@dataclass(frozen=True)
class UnitEntry:
    id: int
    name: str
    credit_code: str


def assemble(
    site: SiteEntry,
    unit: UnitEntry,
    cameras: Sequence[CameraEntry],
    profile: FilingProfile,
    recipient: Mapping[str, str],
    packs: Sequence[str],
) -> dict[str, Any]:
    """The package as a plain dict (design D2), parts in :data:`PACKAGE_PARTS` order."""
    return {
        "format": PACKAGE_FORMAT,
        "packs": list(packs),
        "recipient": dict(recipient),
        "system_profile": {
            "system_name": profile.system_name,
            "system_purpose": profile.system_purpose,
            "site_id": site.id,
            "site_name": site.name,
            "address": site.address,
            "division_code": site.division_code,
            "division_name": site.division_full_name,
            "site_type": site.site_type,
            "public_place_article": site.public_place_article,
            "categories": sorted(site.categories),
            "is_classified": site.is_classified,
        },
        "units": {
            "user": {"id": unit.id, "name": unit.name, "credit_code": unit.credit_code},
            "owner": profile.owner_unit.as_dict(),
            "builder": profile.builder_unit.as_dict(),
            "maintainer": profile.maintainer_unit.as_dict(),
        },
        "responsible_persons": [p.as_dict() for p in profile.responsible_persons],
        "cameras": [c.as_dict() for c in sorted(cameras, key=lambda c: c.address_code)],
        "storage": {
            "description": profile.storage_description,
            "retention": [
                {
                    "address_code": c.address_code,
                    "days": c.retention_days,
                    "citations": list(c.retention_citations),
                }
                for c in sorted(cameras, key=lambda c: c.address_code)
            ],
        },
        "network": {"kind": profile.network_kind, "description": profile.network_description},
        "design_scheme": profile.design_scheme.as_dict() if profile.design_scheme else None,
        "acceptance_report": (
            profile.acceptance_report.as_dict() if profile.acceptance_report else None
        ),
    }


def _present(package: Mapping[str, Any], part: str) -> bool:
    value = package.get(part)
    if part == "system_profile":
        return bool(
            value
            and value.get("system_name", "").strip()
            and value.get("site_name", "").strip()
            and value.get("address", "").strip()
            and value.get("division_code")
        )
    if part == "units":
        return bool(
            value
            and value["user"].get("name")
            and value["user"].get("credit_code")
            and all(
                value[k].get("name", "").strip() and value[k].get("contact", "").strip()
                for k in ("owner", "builder", "maintainer")
            )
        )
    if part == "responsible_persons":
        return bool(value) and all(p.get("name") and p.get("phone") for p in value or [])
    if part == "cameras":
        return bool(value)
    if part == "storage":
        return bool(value and value.get("description", "").strip() and value.get("retention"))
    if part == "network":
        return bool(value and value.get("kind") in NetworkKind.ALL)
    if part in ("design_scheme", "acceptance_report"):
        return bool(value and _SHA256.match(value.get("sha256", "")))
    raise KeyError(part)


def mandatory_parts(packs_applying: Collection[str]) -> list[tuple[str, list[str]]]:
    """The parts mandatory under the packs that apply, each with its articles in those packs."""
    found: list[tuple[str, list[str]]] = []
    for part in PACKAGE_PARTS:
        cites = [c for c in part.citations if c.split(":", 1)[0] in packs_applying]
        if cites:
            found.append((part.key, cites))
    return found


# A removal filing for a site's last cameras describes a system with none in use: what was
# removed is in the case's diff, so the cameras and their storage are not asked for.
_NOT_ASKED_WHEN_ALL_REMOVED = frozenset({"cameras", "storage"})


def missing_parts(
    package: Mapping[str, Any], packs_applying: Collection[str], *, removal: bool = False
) -> list[tuple[str, list[str]]]:
    """Every mandatory part the package lacks, with the articles that make it mandatory. For a
    removal filing (``removal``) whose package has no camera left, the cameras and storage parts
    are not mandatory: the removed cameras are in the case's diff."""
    skipped = _NOT_ASKED_WHEN_ALL_REMOVED if removal and not package.get("cameras") else frozenset()
    return [
        (k, cites)
        for k, cites in mandatory_parts(packs_applying)
        if k not in skipped and not _present(package, k)
    ]


def missing_errors(missing: Sequence[tuple[str, Sequence[str]]]) -> list[FieldError]:
    """One refusal per missing part: field ``package.<part>``, the article named."""
    return [
        FieldError(
            f"package.{part}",
            f"the filing package needs its {part.replace('_', ' ')} ({', '.join(cites)})",
            rule_id=cites[0],
            article=", ".join(cites),
            key="refusal.filing_part_missing",
            params={"part": part, "citations": list(cites)},
        )
        for part, cites in missing
    ]


def canonical(package: Mapping[str, Any]) -> bytes:
    """Sorted keys, UTF-8, no whitespace: the bytes whose SHA-256 is the package's identity."""
    return json.dumps(package, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def package_sha256(package: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(package)).hexdigest()
