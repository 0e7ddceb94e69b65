"""Inspections by the bureau and the checklist the rule packs give them (docs/design/filing.md D6).

The checklist of an inspection is generated from the packs that apply to the inspected sites'
divisions: one item per obligation a pack states (filing, acceptance before use, signage,
retention, access registration and handlers, the operating duties, network and classified-site
rules, mandatory and prohibited categories, publication masking). An item shared by several
packs is one item citing each; its penalty is the one :func:`penalised` finds among its
articles, and every penalty article any of them has is kept (an escalation names one of them).

Pure: no I/O. The services (``services/inspections.py``, ``services/rectification.py``) store
and log; the texts are here in Chinese and English, keyed by the item's stable key.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from custos.domain.kinds import PublicPlaceArticle
from custos.domain.rules.citation import Citation
from custos.domain.rules.engine import RuleBook
from custos.domain.rules.model import Cited, FineRange, OperatingRules, RulePack
from custos.domain.rules.penalties import penalised
from custos.domain.rules.terms import FilingTrigger

DEFAULT_DUE_DAYS = 30
MIN_DUE_DAYS, MAX_DUE_DAYS = 1, 180
MAX_INSPECTORS = 20
MAX_PHOTOS_PER_ITEM = 20
MAX_REMARK = 2000


class ItemResult(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a result, not a password
    FAIL = "fail"
    NOTE = "note"


class InspectionState(enum.StrEnum):
    PLANNED = "planned"  # items may be recorded, nobody has signed yet
    SIGNING = "signing"  # at least one inspector signed: the record is frozen
    CLOSED = "closed"  # every inspector signed; the report exists; notices issued


# key → (Chinese, English); ``{days}`` / ``{handlers}`` filled from the packs
TEXTS: dict[str, tuple[str, str]] = {
    "filing.initial": (
        "系统已按规定向公安机关备案",
        "The system is filed with the public security organ as required",
    ),
    "filing.change": (
        "系统变更、迁移或拆除已及时报公安机关备案",
        "Changes, relocation or removal of the system were reported for filing in time",
    ),
    "acceptance.before_use": (
        "系统经验收合格后方投入使用",
        "The system was put into use only after passing acceptance",
    ),
    "signage": (
        "在采集区域设置了明显的提示标识",
        "Conspicuous signs mark the areas under video collection",
    ),
    "retention.days": (
        "视频图像信息留存不少于{days}日",
        "Video image information is kept for at least {days} days",
    ),
    "retention.kept": (
        "视频图像信息按规定期限留存",
        "Video image information is kept for the period required",
    ),
    "access.registration": (
        "查阅、复制、调取视频图像信息均已登记",
        "Every viewing, copying and retrieval of footage is registered",
    ),
    "access.handlers": (
        "调取视频图像信息时经办人员不少于{handlers}人",
        "Retrievals of footage are handled by at least {handlers} persons",
    ),
    "operating.duty_monitoring": (
        "建立并落实值班监看制度",
        "Duty monitoring is organised and kept",
    ),
    "operating.report_suspicious": (
        "发现违法犯罪等可疑情况及时向公安机关报告",
        "Suspicious matters seen are reported to the police in time",
    ),
    "operating.room_access": (
        "无关人员不进入监控室（监看场所）",
        "No unrelated person enters the monitoring room",
    ),
    "operating.staff_archive": ("建立监看人员档案", "An archive of the monitoring staff is kept"),
    "operating.training": (
        "对监看及运维人员进行岗位技能和保密培训",
        "Monitoring and maintenance staff are trained (skills, confidentiality)",
    ),
    "operating.inspection_maintenance": (
        "定期检查和维护保养系统设施设备",
        "The system's facilities are inspected and maintained regularly",
    ),
    "operating.restore_after_fault": (
        "系统因故障中断运行的及时恢复",
        "A system interrupted by a fault is restored promptly",
    ),
    "operating.keep_location_and_function": (
        "未擅自改变设施、设备的位置和功能",
        "No facility's or device's position or function was changed without leave",
    ),
    "operating.entrustment_agreement": (
        "委托运营、维护的，双方以协议明确责任",
        "Where operation or maintenance is entrusted, an agreement sets the duties",
    ),
    "operating.assessment": (
        "定期评估系统效能和安全性能",
        "The system's effectiveness and security are assessed periodically",
    ),
    "operating.emergency_plan": ("制定突发事件处置预案", "An emergency plan is in place"),
    "network.classified": (
        "涉密场所的系统未接入互联网等公共信息网络",
        "Systems at classified sites are not connected to the Internet or public networks",
    ),
    "network.interface": (
        "预留接入公安机关联网的硬件、软件接口",
        "Hardware and software interfaces for the police network are reserved",
    ),
    "network.interruption": (
        "系统因故中断运行不超过{days}日，超过的已报告",
        "No interruption lasted over {days} days without being reported",
    ),
    "categories.mandatory": (
        "规定的重点部位和区域已安装系统",
        "The locations where the rules require a system have one",
    ),
    "categories.prohibited": (
        "未在禁止的涉及个人隐私的场所安装摄像设备",
        "No camera is installed where the rules forbid one (privacy)",
    ),
    "publication.masking": (
        "公开传播视频图像信息前已对人脸、号牌等作遮挡处理",
        "Faces, plates and the like are masked before footage is published",
    ),
}

_OPERATING_FIELDS = (
    "duty_monitoring", "report_suspicious", "room_access", "staff_archive", "training",
    "inspection_maintenance", "restore_after_fault", "keep_location_and_function",
    "entrustment_agreement", "assessment", "emergency_plan",
)  # fmt: skip
_INITIAL = (FilingTrigger.AFTER_ACCEPTANCE, FilingTrigger.AFTER_IN_USE, FilingTrigger.PREEXISTING)
_FEWEST = frozenset({"network.interruption"})
_CHANGE = (FilingTrigger.CHANGE, FilingTrigger.RELOCATION, FilingTrigger.REMOVAL)


@dataclass(frozen=True)
class PenaltyRef:
    """A penalty article and its fine range (empty: no fine in the texts)."""

    citation: Citation
    fine: FineRange

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.citation.rule_id,
            "article": self.citation.human,
            "fine": self.fine.as_dict(),
            "no_fine": self.fine.is_empty,
        }

    @classmethod
    def of(cls, d: dict[str, Any]) -> PenaltyRef:
        return cls(Citation.parse(d["rule_id"]), FineRange(**d["fine"]))

    def bounds(self, subject: str) -> tuple[int | None, int | None]:
        """The (min, max) of ``unit``, ``person`` or ``individual``; (None, None): none."""
        f = self.fine.as_dict()
        return f[f"{subject}_min"], f[f"{subject}_max"]


@dataclass
class InspectionItem:
    key: str
    text_zh: str
    text_en: str
    citations: tuple[Citation, ...]
    penalty: PenaltyRef | None  # the one shown (penalised)
    penalties: tuple[PenaltyRef, ...] = ()  # every penalty article of the item's articles
    result: ItemResult | None = None
    remark: str = ""
    photos: list[str] = field(default_factory=list)
    due_days: int | None = None  # for a failure: the rectification deadline
    recorded_by: str = ""
    recorded_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "rule_ids": [c.rule_id for c in self.citations],
            "articles": [c.human for c in self.citations],
            "penalty": self.penalty.as_dict() if self.penalty else None,
            "penalties": [p.as_dict() for p in self.penalties],
            "result": self.result.value if self.result else None,
            "remark": self.remark,
            "photos": list(self.photos),
            "due_days": self.due_days,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
        }

    @classmethod
    def of(cls, d: dict[str, Any]) -> InspectionItem:
        return cls(
            key=d["key"],
            text_zh=d["text_zh"],
            text_en=d["text_en"],
            citations=tuple(Citation.parse(r) for r in d["rule_ids"]),
            penalty=PenaltyRef.of(d["penalty"]) if d["penalty"] else None,
            penalties=tuple(PenaltyRef.of(p) for p in d["penalties"]),
            result=ItemResult(d["result"]) if d["result"] else None,
            remark=d["remark"],
            photos=list(d["photos"]),
            due_days=d["due_days"],
            recorded_by=d["recorded_by"],
            recorded_at=datetime.fromisoformat(d["recorded_at"]) if d["recorded_at"] else None,
        )


def checklist(
    book: RuleBook,
    division_codes: Iterable[str],
    sites: Sequence[tuple[str, PublicPlaceArticle | None]] | None = None,
) -> list[InspectionItem]:
    """The items the packs of these divisions state, in the order of :data:`TEXTS`.

    With ``sites`` (each a division code and its Decree 799 article), an article a pack's site
    exemption lifts on every inspected site of that pack (Decree 799 art. 9 para 2, art. 33) is
    not checked; an item left with no article is left out."""
    packs: dict[str, RulePack] = {}
    for code in sorted(set(division_codes)):
        for pack in book.packs_for_division(code):
            packs.setdefault(pack.id, pack)
    found: dict[str, list[Citation]] = {}
    numbers: dict[str, int] = {}
    for pack in packs.values():
        for key, citations, number in _obligations(pack):
            kept = [c for c in _distinct(citations) if _applies(pack, c, sites)]
            if not kept:
                continue
            cited = found.setdefault(key, [])
            cited += [c for c in kept if c not in cited]
            if number is not None:  # the strictest: most days kept, fewest days interrupted
                pick = min if key in _FEWEST else max
                numbers[key] = pick(number, numbers.get(key, number))
    items: list[InspectionItem] = []
    for key, (zh, en) in TEXTS.items():
        if key not in found:
            continue
        params = {"days": numbers.get(key, 0), "handlers": numbers.get(key, 0)}
        citations = tuple(found[key])
        chosen = penalised(book, citations)
        every: list[PenaltyRef] = []
        for c in citations:
            p = book.penalty_for(c)
            if p is not None and all(r.citation != p.citation for r in every):
                every.append(PenaltyRef(p.citation, p.fine))
        items.append(
            InspectionItem(
                key, zh.format(**params), en.format(**params), citations,
                None if chosen is None else PenaltyRef(chosen.citation, chosen.fine),
                tuple(every),
            )
        )  # fmt: skip
    return items


def _applies(
    pack: RulePack, c: Citation, sites: Sequence[tuple[str, PublicPlaceArticle | None]] | None
) -> bool:
    if sites is None:
        return True
    mine = [article for code, article in sites if pack.applies_to_division(code)]
    return any(pack.applies_on_site(c, article) for article in mine) or not mine


def _obligations(pack: RulePack) -> list[tuple[str, tuple[Citation, ...], int | None]]:
    out: list[tuple[str, tuple[Citation, ...], int | None]] = []
    initial = tuple(r.citation for r in pack.filing if r.trigger in _INITIAL)
    change = tuple(r.citation for r in pack.filing if r.trigger in _CHANGE)
    if initial:
        out.append(("filing.initial", initial, None))
    if change:
        out.append(("filing.change", change, None))
    if pack.acceptance_before_use is not None:
        out.append(("acceptance.before_use", (pack.acceptance_before_use,), None))
    if pack.signage is not None:
        out.append(("signage", (pack.signage.citation,), None))
    retention = pack.retention
    if retention.min_days is not None:
        out.append(("retention.days", (retention.citation,), retention.min_days))
    else:
        out.append(("retention.kept", (retention.citation,), None))
    access = pack.access
    registration = tuple(c for c in (access.registration, access.registration_form) if c)
    if registration:
        out.append(("access.registration", registration, None))
    if access.min_handlers is not None:
        out.append(("access.handlers", (access.min_handlers.citation,), access.min_handlers.value))
    out += _operating(pack.operating)
    network = pack.network
    if network.classified_no_internet is not None:
        rule = network.classified_no_internet
        out.append(("network.classified", (rule.citation, *rule.also_cites), None))
    if network.reserved_interface is not None:
        out.append(("network.interface", (network.reserved_interface,), None))
    if network.max_interruption_days is not None:
        days = network.max_interruption_days
        out.append(("network.interruption", (days.citation,), days.value))
    mandatory = _distinct(c for r in pack.mandatory_categories for c in r.citations)
    if mandatory:
        out.append(("categories.mandatory", mandatory, None))
    prohibited = _distinct(c for r in pack.prohibited_categories for c in r.citations)
    if prohibited:
        out.append(("categories.prohibited", prohibited, None))
    if pack.publication is not None:
        out.append(("publication.masking", (pack.publication.citation,), None))
    return out


def _operating(rules: OperatingRules) -> list[tuple[str, tuple[Citation, ...], int | None]]:
    out: list[tuple[str, tuple[Citation, ...], int | None]] = []
    for name in _OPERATING_FIELDS:
        value = getattr(rules, name)
        if isinstance(value, Cited):
            out.append((f"operating.{name}", (value.citation,), None))
        elif isinstance(value, Citation):
            out.append((f"operating.{name}", (value,), None))
    return out


def _distinct(citations: Iterable[Citation]) -> tuple[Citation, ...]:
    seen: list[Citation] = []
    for c in citations:
        if c not in seen:
            seen.append(c)
    return tuple(seen)


@dataclass
class Inspector:
    user_id: int
    username: str
    full_name: str
    signed_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "username": self.username,
            "full_name": self.full_name,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
        }

    @classmethod
    def of(cls, d: dict[str, Any]) -> Inspector:
        signed = d["signed_at"]
        return cls(
            d["user_id"], d["username"], d["full_name"],
            datetime.fromisoformat(signed) if signed else None,
        )  # fmt: skip


@dataclass
class Inspection:
    id: int | None
    unit_id: int
    unit_name: str
    planned_on: date
    state: InspectionState
    site_ids: list[int]
    division_codes: list[str]
    inspectors: list[Inspector]
    items: list[InspectionItem]
    planned_by: str
    planned_at: datetime
    report_sha256: str | None = None
    closed_at: datetime | None = None

    def item(self, key: str) -> InspectionItem | None:
        return next((i for i in self.items if i.key == key), None)

    def inspector(self, user_id: int | None) -> Inspector | None:
        return next((i for i in self.inspectors if i.user_id == user_id), None)

    @property
    def all_signed(self) -> bool:
        return all(i.signed_at is not None for i in self.inspectors)

    def body(self) -> dict[str, Any]:
        return {
            "unit_name": self.unit_name,
            "site_ids": self.site_ids,
            "division_codes": self.division_codes,
            "inspectors": [i.as_dict() for i in self.inspectors],
            "items": [i.as_dict() for i in self.items],
            "planned_by": self.planned_by,
            "planned_at": self.planned_at.isoformat(),
            "report_sha256": self.report_sha256,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "planned_on": self.planned_on.isoformat(),
            "state": self.state.value,
            **self.body(),
        }

    @classmethod
    def of(
        cls, inspection_id: int, unit_id: int, planned_on: date, state: str, d: dict[str, Any]
    ) -> Inspection:
        closed = d["closed_at"]
        return cls(
            id=inspection_id,
            unit_id=unit_id,
            unit_name=d["unit_name"],
            planned_on=planned_on,
            state=InspectionState(state),
            site_ids=list(d["site_ids"]),
            division_codes=list(d["division_codes"]),
            inspectors=[Inspector.of(i) for i in d["inspectors"]],
            items=[InspectionItem.of(i) for i in d["items"]],
            planned_by=d["planned_by"],
            planned_at=datetime.fromisoformat(d["planned_at"]),
            report_sha256=d["report_sha256"],
            closed_at=datetime.fromisoformat(closed) if closed else None,
        )


def unrecorded(items: Sequence[InspectionItem]) -> list[str]:
    """The keys of items without a result (an inspection is signed only when none is left)."""
    return [i.key for i in items if i.result is None]
