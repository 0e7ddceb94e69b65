"""Filing with the police: the unit's package and the case loop (docs/design/filing.md D2, D3).

draft ──submit──▶ submitted ──accept──▶ accepted (filing number; the Filing row's filed_on set)
                      └──return(reasons)──▶ returned ──submit──▶ submitted …

- The unit (``FILING_WRITE``, its own sites) edits the site's filing profile, opens a case
  (initial, or a change by hand) and submits: the package is assembled from the registry now,
  refused with every missing part and its article, and stored (canonical JSON and a Chinese
  PDF) in the document store with a receipt number ``{division}-{yyyymmdd}-{seq}``.
- The bureau (``SUPERVISE``, the site inside the supervisor's jurisdiction) accepts, giving a
  filing number (its own, or ``备{division}{yyyy}{seq:05d}``), or returns with reasons. The
  accepted submission's Shanghai date becomes the ``Filing`` row's ``filed_on``: the deadline
  findings of ``domain/rules/filings.py`` read that row.
- Every step is a :class:`CaseEvent` in the case and an operation-log entry with the package hash.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime
from typing import Any, Protocol

from custos.domain.access import Permission, Role
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.calendar import WorkdayCalendar, shanghai_date
from custos.domain.clock import Clock
from custos.domain.divisions import DivisionTable, contains
from custos.domain.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from custos.domain.filing_case import (
    CaseEvent,
    CaseState,
    Channel,
    FilingCase,
    Submission,
    require_reasons,
)
from custos.domain.filing_package import (
    Document,
    FilingProfile,
    canonical,
    check_profile,
    missing_errors,
)
from custos.domain.registry import Filing, Site, Unit
from custos.domain.rules import RuleBook
from custos.domain.rules.facts import FilingKind
from custos.domain.users import Principal
from custos.domain.visibility import reaches_site
from custos.services.filing_assembly import (
    Assembled,
    FilingRows,
    assemble_now,
    owed,
    recipient_of,
    unknown_division,
)
from custos.services.ports import UnitOfWork

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_FILING_NUMBER = 64


class FilingProfiles(Protocol):
    def get(self, site_id: int) -> dict[str, Any] | None: ...
    def put(self, site_id: int, body: dict[str, Any], at: datetime) -> None: ...


class FilingCases(Protocol):
    def add(self, case: FilingCase) -> FilingCase: ...
    def get(self, case_id: int) -> FilingCase | None: ...
    def update(self, case: FilingCase) -> None: ...
    def find(
        self,
        site_ids: Collection[int] | None = None,
        states: Collection[CaseState] | None = None,
    ) -> list[FilingCase]: ...
    def last_accepted(self, site_id: int) -> FilingCase | None: ...
    def open_task(self, site_id: int) -> FilingCase | None: ...


class FilingUnitOfWork(UnitOfWork, Protocol):
    @property
    def filings(self) -> FilingRows: ...
    @property
    def filing_profiles(self) -> FilingProfiles: ...
    @property
    def filing_cases(self) -> FilingCases: ...


class FilingUnitOfWorkFactory(Protocol):
    def __call__(self) -> FilingUnitOfWork: ...


class Documents(Protocol):
    """The content-addressed document store (adapters/storage/documents.py)."""

    def put(self, data: bytes) -> str: ...
    def read(self, digest: str) -> bytes | None: ...


class PackagePdf(Protocol):
    """Renders the package as a Chinese PDF (adapters/export/filing_pdf.py)."""

    def render(self, package: dict[str, Any], receipt: dict[str, Any]) -> bytes: ...


#: Called in the same transaction after a filing profile is written (filing-changes hooks in).
ProfileChanged = Callable[[FilingUnitOfWork, Principal, int], None]


class FilingService:
    def __init__(
        self,
        uow: FilingUnitOfWorkFactory,
        rules: RuleBook,
        divisions: DivisionTable,
        calendar: WorkdayCalendar,
        clock: Clock,
        documents: Documents,
        pdf: PackagePdf,
        on_profile_change: ProfileChanged | None = None,
    ) -> None:
        self._uow, self._rules, self._divisions = uow, rules, divisions
        self._calendar, self._clock, self._documents, self._pdf = calendar, clock, documents, pdf
        self.on_profile_change = on_profile_change

    # ---- the profile and the preview ---------------------------------------------------------
    def profile(self, actor: Principal, site_id: int) -> FilingProfile:
        actor.require(Permission.BASE_INFO_READ)
        with self._uow() as uow:
            self._site(uow, actor, site_id)
            return FilingProfile.from_dict(uow.filing_profiles.get(site_id))

    def put_profile(self, actor: Principal, site_id: int, profile: FilingProfile) -> FilingProfile:
        actor.require(Permission.FILING_WRITE)
        check_profile(profile)
        for d in (profile.design_scheme, profile.acceptance_report):
            if d is not None and self._documents.read(d.sha256) is None:
                raise ValidationFailed(
                    FieldError("document.sha256", f"no uploaded document {d.sha256}")
                )
        with self._uow() as uow:
            self._site(uow, actor, site_id)
            before = uow.filing_profiles.get(site_id)
            uow.filing_profiles.put(site_id, profile.as_dict(), self._clock.now())
            self._log(
                uow, actor, "filing.profile_update", "site", site_id, {}, before, profile.as_dict()
            )
            if self.on_profile_change is not None:
                self.on_profile_change(uow, actor, site_id)
            uow.commit()
        return profile

    def upload_document(
        self, actor: Principal, site_id: int, data: bytes, filename: str
    ) -> Document:
        """A design scheme or acceptance report, content-addressed (its SHA-256 names it)."""
        actor.require(Permission.FILING_WRITE)
        if not data or len(data) > MAX_DOCUMENT_BYTES:
            raise ValidationFailed(
                FieldError("file", f"a document of 1 byte to {MAX_DOCUMENT_BYTES} bytes")
            )
        name = filename.strip()[-200:] or "document"
        with self._uow() as uow:
            self._site(uow, actor, site_id)
            digest = self._documents.put(data)
            detail = {"sha256": digest, "filename": name, "bytes": len(data)}
            self._log(uow, actor, "filing.document_upload", "site", site_id, detail)
            uow.commit()
        return Document(digest, name)

    def preview(self, actor: Principal, site_id: int) -> dict[str, Any]:
        """The package as it would be submitted now, what it lacks, who receives it, when due."""
        actor.require(Permission.BASE_INFO_READ)
        with self._uow() as uow:
            site = self._site(uow, actor, site_id)
            unit, built = self._assemble(uow, site)
            found = owed(
                self._rules,
                self._calendar,
                unit,
                site,
                uow.cameras.find([site_id]),
                FilingKind.INITIAL,
                self._today(),
            )
        problems = [] if built.recipient else [unknown_division(site)]
        return {
            "site_id": site_id,
            "package": built.package,
            "package_sha256": built.sha256,
            "packs": built.packs,
            "missing": [{"part": p, "citations": c} for p, c in built.missing],
            "recipient": built.recipient.as_dict() if built.recipient else None,
            "problems": [{"field": e.field, "rule": e.reason, "key": e.key} for e in problems],
            "initial": {
                "trigger_date": found.trigger_date.isoformat(),
                "due": found.due.isoformat() if found.due else None,
                "citations": found.citations,
            },
        }

    # ---- the case ----------------------------------------------------------------------------
    def open_case(self, actor: Principal, site_id: int, kind: FilingKind) -> FilingCase:
        actor.require(Permission.FILING_WRITE)
        now = self._clock.now()
        with self._uow() as uow:
            site = self._site(uow, actor, site_id)
            case = self.open_in(uow, actor, site, kind, now)
            uow.commit()
        return case

    def open_in(
        self,
        uow: FilingUnitOfWork,
        actor: Principal,
        site: Site,
        kind: FilingKind,
        now: datetime,
        trigger_date: date | None = None,
        diff: dict[str, Any] | None = None,
    ) -> FilingCase:
        """Open a case inside the caller's transaction (filing-changes opens re-filing tasks so):
        a ``Filing`` row (filed_on None) and the case, with its due date and articles."""
        assert site.id is not None
        open_same = [c for c in uow.filing_cases.find([site.id]) if c.is_open and c.kind is kind]
        if open_same:
            raise ValidationFailed(
                FieldError(
                    "kind",
                    f"case {open_same[0].id} ({kind.value}) is still open for this site",
                    key="refusal.filing_case_open",
                    params={"case_id": open_same[0].id, "kind": kind.value},
                )
            )
        recipient = recipient_of(self._divisions, site)
        if recipient is None:
            raise ValidationFailed(unknown_division(site))
        unit = self._unit(uow, site)
        cameras = uow.cameras.find([site.id])
        found = owed(self._rules, self._calendar, unit, site, cameras, kind, shanghai_date(now))
        trigger = trigger_date or found.trigger_date
        filing = uow.filings.add(
            Filing(None, site.id, kind, trigger, None, recipient.organ_name, "", "filing case")
        )
        case = FilingCase(
            id=None,
            site_id=site.id,
            unit_id=site.unit_id,
            kind=kind,
            filing_id=filing.id,
            recipient=recipient,
            state=CaseState.DRAFT,
            opened_at=now,
            trigger_date=trigger,
            due=found.due,
            citations=found.citations,
            diff=dict(diff or {}),
        )
        case.history.append(self._event("open", actor, now, {"kind": kind.value}))
        uow.filing_cases.add(case)
        detail = {"kind": kind.value, "due": str(found.due), "citations": found.citations}
        self._log(uow, actor, "filing.case_open", "filing_case", case.id, detail)
        return case

    def submit(self, actor: Principal, case_id: int, channel: Channel) -> FilingCase:
        actor.require(Permission.FILING_WRITE)
        now = self._clock.now()
        with self._uow() as uow:
            case = self._case(uow, actor, case_id)
            site = self._site(uow, actor, case.site_id)
            _, built = self._assemble(uow, site)
            if built.recipient is None:
                raise ValidationFailed(unknown_division(site))
            if built.missing:
                raise ValidationFailed(missing_errors(built.missing))
            case.move(CaseState.SUBMITTED)
            case.recipient = built.recipient
            body = canonical(built.package)
            package_sha = self._documents.put(body)
            receipt = self._receipt_number(uow, case, now)
            pdf = self._pdf.render(
                built.package,
                {
                    "receipt_number": receipt,
                    "package_sha256": package_sha,
                    "submitted_on": shanghai_date(now).isoformat(),
                    "kind": case.kind.value,
                    "due": case.due.isoformat() if case.due else None,
                    "citations": case.citations,
                    "by_name": actor.full_name or actor.username,
                },
            )
            pdf_sha = self._documents.put(pdf)
            submission = Submission(
                number=len(case.submissions) + 1,
                receipt_number=receipt,
                package_sha256=package_sha,
                pdf_sha256=pdf_sha,
                channel=channel,
                submitted_at=now,
                submitted_on=shanghai_date(now),
                by_user=actor.user_id,
                by_name=actor.full_name or actor.username,
            )
            case.submissions.append(submission)
            detail = {
                "receipt_number": receipt,
                "package_sha256": package_sha,
                "channel": channel.value,
            }
            case.history.append(self._event("submit", actor, now, detail))
            uow.filing_cases.update(case)
            self._log(
                uow,
                actor,
                "filing.submit",
                "filing_case",
                case_id,
                detail | {"pdf_sha256": pdf_sha},
            )
            uow.commit()
        return case

    def accept(self, actor: Principal, case_id: int, filing_number: str | None) -> FilingCase:
        actor.require(Permission.SUPERVISE)
        now = self._clock.now()
        number = (filing_number or "").strip()
        if len(number) > MAX_FILING_NUMBER:
            raise ValidationFailed(
                FieldError("filing_number", f"at most {MAX_FILING_NUMBER} characters")
            )
        with self._uow() as uow:
            case = self._supervised_case(uow, actor, case_id)
            case.move(CaseState.ACCEPTED)
            latest = case.latest
            assert latest is not None  # a submitted case has a submission
            case.filing_number = number or self._filing_number(uow, case, now)
            case.decided_on = shanghai_date(now)
            case.return_reasons = []
            if case.filing_id is not None and (row := uow.filings.get(case.filing_id)):
                row.filed_on = latest.submitted_on
                row.receipt_number = case.filing_number
                row.recipient = case.recipient.organ_name
                uow.filings.update(row)
            detail = {
                "filing_number": case.filing_number,
                "package_sha256": latest.package_sha256,
                "receipt_number": latest.receipt_number,
            }
            case.history.append(self._event("accept", actor, now, detail))
            uow.filing_cases.update(case)
            self._log(uow, actor, "filing.accept", "filing_case", case_id, detail)
            uow.commit()
        return case

    def return_(self, actor: Principal, case_id: int, reasons: list[str]) -> FilingCase:
        actor.require(Permission.SUPERVISE)
        kept = require_reasons(reasons)
        now = self._clock.now()
        with self._uow() as uow:
            case = self._supervised_case(uow, actor, case_id)
            case.move(CaseState.RETURNED)
            latest = case.latest
            assert latest is not None
            case.return_reasons = kept
            detail = {
                "reasons": kept,
                "package_sha256": latest.package_sha256,
                "receipt_number": latest.receipt_number,
            }
            case.history.append(self._event("return", actor, now, detail))
            uow.filing_cases.update(case)
            self._log(uow, actor, "filing.return", "filing_case", case_id, detail)
            uow.commit()
        return case

    # ---- reading -----------------------------------------------------------------------------
    def get(self, actor: Principal, case_id: int) -> FilingCase:
        actor.require(Permission.BASE_INFO_READ)
        with self._uow() as uow:
            return self._case(uow, actor, case_id)

    def cases(
        self,
        actor: Principal,
        site_id: int | None = None,
        states: Collection[CaseState] | None = None,
    ) -> list[FilingCase]:
        actor.require(Permission.BASE_INFO_READ)
        with self._uow() as uow:
            found = uow.filing_cases.find(None if site_id is None else [site_id], states)
            sites = {s.id: s for s in uow.sites.find(None)} if found else {}
        return [c for c in found if (s := sites.get(c.site_id)) and self._reaches(actor, s)]

    def describe(self, cases: list[FilingCase]) -> list[dict[str, Any]]:
        """The cases as plain JSON, with their site's and unit's names (the API's form)."""
        with self._uow() as uow:
            sites = {s.id: s for s in uow.sites.find(None)}
            units = {u.id: u for u in uow.units.find(None)}
        return [case_json(c, sites.get(c.site_id), units.get(c.unit_id)) for c in cases]

    def package(
        self, actor: Principal, case_id: int, submission: int | None = None
    ) -> tuple[bytes, bytes]:
        """(canonical JSON, PDF) of a submission (the latest when None). A case not yet
        submitted gives the package as it would be submitted now."""
        actor.require(Permission.BASE_INFO_READ)
        with self._uow() as uow:
            case = self._case(uow, actor, case_id)
            if not case.submissions:
                site = self._site(uow, actor, case.site_id)
                _, built = self._assemble(uow, site)
                receipt = {"receipt_number": "", "package_sha256": built.sha256, "draft": True}
                return canonical(built.package), self._pdf.render(built.package, receipt)
        chosen = (
            case.latest
            if submission is None
            else next((s for s in case.submissions if s.number == submission), None)
        )
        if chosen is None:
            raise NotFound("submission", submission or 0)
        body = self._documents.read(chosen.package_sha256)
        pdf = self._documents.read(chosen.pdf_sha256)
        if body is None or pdf is None:
            raise NotFound("package", chosen.package_sha256)
        return body, pdf

    # ---- helpers -----------------------------------------------------------------------------
    def _today(self) -> date:
        return shanghai_date(self._clock.now())

    def _reaches(self, actor: Principal, site: Site) -> bool:
        """Unit or jurisdiction; a supervisor without a jurisdiction reaches nothing (D5)."""
        if actor.role is Role.SUPERVISOR and actor.jurisdiction is None:
            return False
        return reaches_site(actor, site.unit_id, site.division_code)

    def _site(self, uow: FilingUnitOfWork, actor: Principal, site_id: int) -> Site:
        site = uow.sites.get(site_id)
        if site is None or not self._reaches(actor, site):
            raise NotFound("site", site_id)
        return site

    def _unit(self, uow: FilingUnitOfWork, site: Site) -> Unit:
        unit = uow.units.get(site.unit_id)
        if unit is None:
            raise NotFound("unit", site.unit_id)
        return unit

    def _case(self, uow: FilingUnitOfWork, actor: Principal, case_id: int) -> FilingCase:
        case = uow.filing_cases.get(case_id)
        site = uow.sites.get(case.site_id) if case else None
        if case is None or site is None or not self._reaches(actor, site):
            raise NotFound("filing case", case_id)
        return case

    def _supervised_case(self, uow: FilingUnitOfWork, actor: Principal, case_id: int) -> FilingCase:
        """The case of a site inside the supervisor's jurisdiction (none: nothing reached)."""
        case = self._case(uow, actor, case_id)
        if actor.is_system:
            return case
        site = uow.sites.get(case.site_id)
        assert site is not None
        if actor.jurisdiction is None or not contains(actor.jurisdiction, site.division_code):
            raise PermissionDenied("the site is outside your jurisdiction")
        return case

    def _assemble(self, uow: FilingUnitOfWork, site: Site) -> tuple[Unit, Assembled]:
        assert site.id is not None
        unit = self._unit(uow, site)
        profile = FilingProfile.from_dict(uow.filing_profiles.get(site.id))
        cameras = uow.cameras.find([site.id])
        return unit, assemble_now(self._rules, self._divisions, unit, site, cameras, profile)

    def _receipt_number(self, uow: FilingUnitOfWork, case: FilingCase, now: datetime) -> str:
        day = shanghai_date(now)
        code = case.recipient.division_code
        same = sum(
            1
            for c in uow.filing_cases.find()
            if c.recipient.division_code == code
            for s in c.submissions
            if s.submitted_on == day
        )
        return f"{code}-{day:%Y%m%d}-{same + 1:03d}"

    def _filing_number(self, uow: FilingUnitOfWork, case: FilingCase, now: datetime) -> str:
        year = shanghai_date(now).year
        code = case.recipient.division_code
        same = sum(
            1
            for c in uow.filing_cases.find(states=[CaseState.ACCEPTED])
            if c.recipient.division_code == code and c.decided_on and c.decided_on.year == year
        )
        return f"备{code}{year}{same + 1:05d}"

    @staticmethod
    def _event(action: str, actor: Principal, at: datetime, detail: dict[str, Any]) -> CaseEvent:
        return CaseEvent(action, at, actor.user_id, actor.full_name or actor.username, detail)

    def _log(
        self,
        uow: FilingUnitOfWork,
        actor: Principal,
        action: str,
        kind: str,
        obj_id: int | None,
        detail: dict[str, Any],
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
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
                after,
                detail,
            )
        )


def case_json(case: FilingCase, site: Site | None, unit: Unit | None) -> dict[str, Any]:
    """A case as plain JSON (stable: the UI pages build on it)."""
    latest = case.latest
    return {
        "id": case.id,
        "site_id": case.site_id,
        "site_name": site.name if site else "",
        "division_code": site.division_code if site else "",
        "unit_id": case.unit_id,
        "unit_name": unit.name if unit else "",
        "kind": case.kind.value,
        "state": case.state.value,
        "filing_id": case.filing_id,
        "recipient": case.recipient.as_dict(),
        "opened_at": case.opened_at.isoformat(),
        "trigger_date": case.trigger_date.isoformat(),
        "due": case.due.isoformat() if case.due else None,
        "citations": list(case.citations),
        "submissions": [s.as_dict() for s in case.submissions],
        "latest_submission": latest.as_dict() if latest else None,
        "history": [e.as_dict() for e in case.history],
        "diff": case.diff,
        "filing_number": case.filing_number,
        "return_reasons": list(case.return_reasons),
        "decided_on": case.decided_on.isoformat() if case.decided_on else None,
    }
