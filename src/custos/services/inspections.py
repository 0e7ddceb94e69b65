"""The bureau's inspections of a unit (docs/design/filing.md D6): plan, record, photograph, sign.

``Permission.SUPERVISE`` and the supervisor's jurisdiction: a supervisor reaches the sites in
its division or below; one without a jurisdiction reaches nothing (deny by default), a system
principal everything. The inspectors are supervisors whose jurisdiction covers every inspected
site. The checklist comes from the packs (:func:`custos.domain.inspection.checklist`). The
record is frozen at the first signature; when the last inspector signs the inspection closes,
its report (PDF, Chinese) is rendered and stored, its SHA-256 enters the operation log, and
each failed item becomes a rectification notice (:mod:`custos.services.rectification`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from custos.domain.access import Permission, Role
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.codes import DivisionCode
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.inspection import (
    DEFAULT_DUE_DAYS,
    MAX_DUE_DAYS,
    MAX_PHOTOS_PER_ITEM,
    MAX_REMARK,
    MIN_DUE_DAYS,
    Inspection,
    InspectionItem,
    InspectionState,
    Inspector,
    ItemResult,
    checklist,
    unrecorded,
)
from custos.domain.rectification import Notice, NoticeState
from custos.domain.registry import Site
from custos.domain.rules import RuleBook
from custos.domain.users import Principal
from custos.services.inspection_ports import (
    Documents,
    InspectionUnitOfWork,
    ReportRenderer,
    in_jurisdiction,
    read_document,
)
from custos.services.refusals import refusals_logged
from custos.services.unit_records import record_write

MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
}


class InspectionService:
    def __init__(
        self,
        uow: Callable[[], InspectionUnitOfWork],
        rules: RuleBook,
        clock: Clock,
        documents: Documents,
        render_report: ReportRenderer,
    ) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock
        self._documents = documents
        self._render = render_report

    def plan(
        self,
        actor: Principal,
        unit_id: int,
        planned_on: date,
        inspector_ids: Sequence[int],
        site_ids: Sequence[int] | None = None,
    ) -> Inspection:
        """Plan an inspection of the unit's sites in the actor's jurisdiction (all of them when
        ``site_ids`` is None); the checklist is generated from the packs now."""
        actor.require(Permission.SUPERVISE)
        now = self._clock.now()
        with (
            refusals_logged(self._uow, self._clock, actor, "inspection.plan", "unit", unit_id),
            self._uow() as uow,
        ):
            unit = uow.units.get(unit_id)
            sites = [
                s for s in uow.sites.find(unit_id) if in_jurisdiction(actor, [s.division_code])
            ]
            if unit is None or not sites:
                raise NotFound("unit", unit_id)
            sites = self._chosen(sites, site_ids)
            codes = sorted({s.division_code for s in sites})
            sites_of = [(s.division_code, s.public_place_article) for s in sites]
            inspectors = self._inspectors(uow, inspector_ids, codes)
            inspection = uow.inspections.add(
                Inspection(
                    None, unit_id, unit.name, planned_on, InspectionState.PLANNED,
                    [s.id or 0 for s in sites], codes, inspectors,
                    checklist(self._rules, codes, sites_of), actor.username, now,
                )
            )  # fmt: skip
            record_write(
                uow, actor, now, "inspection.plan", "inspection", inspection.id,
                {
                    "unit_id": unit_id, "planned_on": planned_on.isoformat(),
                    "site_ids": inspection.site_ids,
                    "inspectors": [i.username for i in inspectors],
                    "items": [i.key for i in inspection.items],
                },
            )  # fmt: skip
            uow.commit()
        return inspection

    def inspections(self, actor: Principal) -> list[Inspection]:
        actor.require(Permission.SUPERVISE)
        with self._uow() as uow:
            found = uow.inspections.find()
        return [i for i in found if in_jurisdiction(actor, i.division_codes)]

    def get(self, actor: Principal, inspection_id: int) -> Inspection:
        actor.require(Permission.SUPERVISE)
        with self._uow() as uow:
            return self._reach(uow, actor, inspection_id)

    def record(
        self,
        actor: Principal,
        inspection_id: int,
        key: str,
        result: ItemResult,
        remark: str = "",
        due_days: int | None = None,
    ) -> Inspection:
        """Record one item's result; a failure's rectification deadline (1–180 days, default
        30). Refused once anyone has signed; only the inspection's inspectors record."""
        actor.require(Permission.SUPERVISE)
        now = self._clock.now()
        detail: dict[str, object] = {"key": key, "result": result.value}
        with (
            refusals_logged(
                self._uow,
                self._clock,
                actor,
                "inspection.record",
                "inspection",
                inspection_id,
                detail,
            ),
            self._uow() as uow,
        ):
            inspection = self._reach(uow, actor, inspection_id, for_update=True)
            item = self._editable_item(actor, inspection, key)
            errors = []
            if len(remark) > MAX_REMARK:
                errors.append(FieldError("remark", f"at most {MAX_REMARK} characters"))
            if due_days is not None and result is not ItemResult.FAIL:
                errors.append(FieldError("due_days", "only a failed item has a deadline"))
            elif due_days is not None and not MIN_DUE_DAYS <= due_days <= MAX_DUE_DAYS:
                errors.append(
                    FieldError(
                        "due_days",
                        f"must be {MIN_DUE_DAYS} to {MAX_DUE_DAYS} days",
                        key="refusal.rectification_due_days",
                        params={"min": MIN_DUE_DAYS, "max": MAX_DUE_DAYS},
                    )
                )
            if errors:
                raise ValidationFailed(errors)
            item.result, item.remark = result, remark
            item.due_days = (due_days or DEFAULT_DUE_DAYS) if result is ItemResult.FAIL else None
            item.recorded_by, item.recorded_at = actor.username, now
            uow.inspections.update(inspection)
            record_write(
                uow, actor, now, "inspection.record", "inspection", inspection_id,
                {**detail, "remark": remark, "due_days": item.due_days},
            )  # fmt: skip
            uow.commit()
        return inspection

    def add_photo(
        self, actor: Principal, inspection_id: int, key: str, data: bytes, content_type: str
    ) -> tuple[Inspection, str]:
        """Store a photo of an item (JPEG, PNG or WebP, at most 10 MiB) by its SHA-256."""
        actor.require(Permission.SUPERVISE)
        now = self._clock.now()
        with (
            refusals_logged(
                self._uow,
                self._clock,
                actor,
                "inspection.photo",
                "inspection",
                inspection_id,
                {"key": key},
            ),
            self._uow() as uow,
        ):
            inspection = self._reach(uow, actor, inspection_id, for_update=True)
            item = self._editable_item(actor, inspection, key)
            _check_photo(data, content_type)
            if len(item.photos) >= MAX_PHOTOS_PER_ITEM:
                raise ValidationFailed(
                    FieldError("file", f"at most {MAX_PHOTOS_PER_ITEM} photos per item")
                )
            digest = self._documents.put(data)
            if digest not in item.photos:
                item.photos.append(digest)
            uow.inspections.update(inspection)
            record_write(
                uow, actor, now, "inspection.photo", "inspection", inspection_id,
                {"key": key, "sha256": digest, "bytes": len(data), "type": content_type},
            )  # fmt: skip
            uow.commit()
        return inspection, digest

    def sign(self, actor: Principal, inspection_id: int) -> Inspection:
        """The actor, one of the inspectors, signs; the last signature closes the inspection:
        the report is rendered, its hash logged, and each failed item becomes a notice."""
        actor.require(Permission.SUPERVISE)
        now = self._clock.now()
        with (
            refusals_logged(
                self._uow, self._clock, actor, "inspection.sign", "inspection", inspection_id
            ),
            self._uow() as uow,
        ):
            inspection = self._reach(uow, actor, inspection_id, for_update=True)
            me = inspection.inspector(actor.user_id)
            if me is None:
                raise ValidationFailed(
                    FieldError("inspector", "only the inspection's inspectors sign")
                )
            if me.signed_at is not None or inspection.state is InspectionState.CLOSED:
                raise ValidationFailed(FieldError("inspector", "already signed"))
            missing = unrecorded(inspection.items)
            if missing:
                raise ValidationFailed(
                    [FieldError(f"items.{k}", "no result recorded") for k in missing]
                )
            me.signed_at = now
            inspection.state = InspectionState.SIGNING
            record_write(
                uow, actor, now, "inspection.sign", "inspection", inspection_id,
                {"inspector": actor.username, "signed_at": now.isoformat()},
            )  # fmt: skip
            if inspection.all_signed:
                self._close(uow, actor, inspection)
            uow.inspections.update(inspection)
            uow.commit()
        return inspection

    def report(self, actor: Principal, inspection_id: int) -> tuple[bytes, str]:
        """The closed inspection's report PDF and its SHA-256."""
        actor.require(Permission.SUPERVISE)
        with self._uow() as uow:
            inspection = self._reach(uow, actor, inspection_id)
        digest = inspection.report_sha256
        data = None if digest is None else read_document(self._documents, digest)
        if digest is None or data is None:
            raise ValidationFailed(
                FieldError("state", "the report exists once every inspector has signed")
            )
        return data, digest

    def photo(self, actor: Principal, inspection_id: int, digest: str) -> bytes:
        actor.require(Permission.SUPERVISE)
        with self._uow() as uow:
            inspection = self._reach(uow, actor, inspection_id)
        data = None
        if any(digest in i.photos for i in inspection.items):
            data = read_document(self._documents, digest)
        if data is None:
            raise NotFound("photo", digest)
        return data

    # ---- inside ----------------------------------------------------------------------------

    def _close(self, uow: InspectionUnitOfWork, actor: Principal, inspection: Inspection) -> None:
        now = self._clock.now()
        inspection.state = InspectionState.CLOSED
        inspection.closed_at = now
        report = self._render(inspection.as_dict())
        inspection.report_sha256 = self._documents.put(report)
        today = shanghai_date(now)
        notices = []
        for item in inspection.items:
            if item.result is not ItemResult.FAIL:
                continue
            notice = uow.rectifications.add(
                _notice(inspection, item, today + timedelta(days=item.due_days or 30), now)
            )
            notices.append(notice.id)
            record_write(
                uow, actor, now, "rectification.issue", "rectification", notice.id,
                {
                    "inspection_id": inspection.id, "unit_id": inspection.unit_id,
                    "item": item.key, "due_on": notice.due_on.isoformat(),
                    "rule_ids": [c.rule_id for c in item.citations],
                    "penalty": notice.penalty.citation.rule_id if notice.penalty else None,
                },
            )  # fmt: skip
        record_write(
            uow, actor, now, "inspection.close", "inspection", inspection.id,
            {
                "report_sha256": inspection.report_sha256, "report_bytes": len(report),
                "notices": notices,
                "signatures": {i.username: i.signed_at.isoformat() for i in inspection.inspectors if i.signed_at},
            },
        )  # fmt: skip

    def _reach(
        self,
        uow: InspectionUnitOfWork,
        actor: Principal,
        inspection_id: int,
        for_update: bool = False,
    ) -> Inspection:
        inspection = uow.inspections.get(inspection_id, for_update)
        if inspection is None or not in_jurisdiction(actor, inspection.division_codes):
            raise NotFound("inspection", inspection_id)
        return inspection

    @staticmethod
    def _editable_item(actor: Principal, inspection: Inspection, key: str) -> InspectionItem:
        if inspection.state is not InspectionState.PLANNED:
            raise ValidationFailed(
                FieldError("state", f"the inspection is {inspection.state}: its record is signed")
            )
        if not actor.is_system and inspection.inspector(actor.user_id) is None:
            raise ValidationFailed(
                FieldError("inspector", "only the inspection's inspectors record")
            )
        item = inspection.item(key)
        if item is None:
            raise NotFound("checklist item", key)
        return item

    @staticmethod
    def _chosen(sites: list[Site], site_ids: Sequence[int] | None) -> list[Site]:
        if site_ids is None:
            return sites
        by_id = {s.id: s for s in sites}
        unknown = [i for i in site_ids if i not in by_id]
        if unknown or not site_ids:
            raise ValidationFailed(
                FieldError("site_ids", f"not sites of the unit in your jurisdiction: {unknown}")
            )
        return [by_id[i] for i in dict.fromkeys(site_ids)]

    @staticmethod
    def _inspectors(
        uow: InspectionUnitOfWork, ids: Sequence[int], codes: Sequence[str]
    ) -> list[Inspector]:
        errors: list[FieldError] = []
        people: list[Inspector] = []
        if not ids:
            errors.append(FieldError("inspector_ids", "at least one inspector"))
        for n, user_id in enumerate(dict.fromkeys(ids)):
            user = uow.users.get(user_id)
            if user is None or not user.active or user.role is not Role.SUPERVISOR:
                errors.append(FieldError(f"inspector_ids[{n}]", "not an active supervisor"))
            elif user.jurisdiction is None or not all(
                DivisionCode(user.jurisdiction).contains(DivisionCode(c)) for c in codes
            ):
                errors.append(
                    FieldError(f"inspector_ids[{n}]", "their jurisdiction does not cover the sites")
                )
            else:
                people.append(Inspector(user_id, user.username, user.full_name))
        if errors:
            raise ValidationFailed(errors)
        return people


def _notice(inspection: Inspection, item: InspectionItem, due_on: date, now: datetime) -> Notice:
    assert inspection.id is not None
    return Notice(
        None, inspection.id, inspection.unit_id, item.key, NoticeState.OPEN, due_on, now,
        item.text_zh, item.text_en, item.citations, item.penalty, item.penalties,
        remark=item.remark, division_codes=list(inspection.division_codes),
        unit_name=inspection.unit_name,
    )  # fmt: skip


def _check_photo(data: bytes, content_type: str) -> None:
    magic = PHOTO_MAGIC.get(content_type)
    if magic is None:
        raise ValidationFailed(
            FieldError("file", f"a photo is one of {', '.join(sorted(PHOTO_MAGIC))}")
        )
    if not data or len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed(FieldError("file", f"1 to {MAX_PHOTO_BYTES} bytes"))
    if not any(data.startswith(m) for m in magic):
        raise ValidationFailed(FieldError("file", f"the bytes are not {content_type}"))
