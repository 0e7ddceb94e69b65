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
from typing import Any

from custos.domain.access import Permission
from custos.domain.calendar import shanghai_date
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.filing_case import (
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
    missing_parts,
)
from custos.domain.registry import Filing, Site
from custos.domain.rules.facts import FilingKind
from custos.domain.users import Principal
from custos.services.filing_access import FilingAccess
from custos.services.filing_assembly import (
    owed,
    recipient_of,
    unknown_division,
)
from custos.services.filing_ports import (
    Documents,
    FilingUnitOfWork,
    FilingUnitOfWorkFactory,
    PackagePdf,
    ProfileChanged,
    case_json,
    event,
    log_step,
    receipt_number,
)
from custos.services.filing_ports import filing_number as next_filing_number

__all__ = [  # the ports are defined in services.filing_ports, and importable from here
    "MAX_DOCUMENT_BYTES",
    "MAX_FILING_NUMBER",
    "Documents",
    "FilingService",
    "FilingUnitOfWork",
    "FilingUnitOfWorkFactory",
    "PackagePdf",
    "ProfileChanged",
    "case_json",
]

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_FILING_NUMBER = 64


#: Called in the accepting transaction after the case is written (filing-changes hooks in).
AfterAcceptance = Callable[[FilingUnitOfWork, FilingCase, Principal], None]


class FilingService(FilingAccess):
    def __init__(
        self, *args: Any, after_acceptance: AfterAcceptance | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.after_acceptance = after_acceptance

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
            log_step(
                uow,
                self._clock.now(),
                actor,
                "filing.profile_update",
                "site",
                site_id,
                {},
                before,
                profile.as_dict(),
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
            log_step(
                uow, self._clock.now(), actor, "filing.document_upload", "site", site_id, detail
            )
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
            "problems": [
                {"field": e.field, "rule": e.reason, "key": e.key, "params": dict(e.params)}
                for e in problems
            ],
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
        case.history.append(event("open", actor, now, {"kind": kind.value}))
        uow.filing_cases.add(case)
        detail = {"kind": kind.value, "due": str(found.due), "citations": found.citations}
        log_step(uow, self._clock.now(), actor, "filing.case_open", "filing_case", case.id, detail)
        return case

    def submit(self, actor: Principal, case_id: int, channel: Channel) -> FilingCase:
        actor.require(Permission.FILING_WRITE)
        now = self._clock.now()
        with self._uow() as uow:
            uow.filing_cases.get(case_id, for_update=True)  # locked before the read
            case = self._case(uow, actor, case_id)
            site = self._site(uow, actor, case.site_id)
            _, built = self._assemble(uow, site)
            if built.recipient is None:
                raise ValidationFailed(unknown_division(site))
            missing = missing_parts(
                built.package, built.packs, removal=case.kind is FilingKind.REMOVAL
            )
            if missing:
                raise ValidationFailed(missing_errors(missing))
            case.move(CaseState.SUBMITTED)
            case.recipient = built.recipient
            body = canonical(built.package)
            package_sha = self._documents.put(body)
            receipt = receipt_number(uow, case, now)
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
            case.history.append(event("submit", actor, now, detail))
            uow.filing_cases.update(case)
            log_step(
                uow,
                now,
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
            uow.filing_cases.get(case_id, for_update=True)  # locked before the read
            case = self._supervised_case(uow, actor, case_id)
            case.move(CaseState.ACCEPTED)
            latest = case.latest
            assert latest is not None  # a submitted case has a submission
            case.filing_number = next_filing_number(uow, case, now, number)
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
            case.history.append(event("accept", actor, now, detail))
            uow.filing_cases.update(case)
            log_step(uow, self._clock.now(), actor, "filing.accept", "filing_case", case_id, detail)
            if self.after_acceptance is not None:
                self.after_acceptance(uow, case, actor)  # a change made while submitted
            uow.commit()
        return case

    def return_(self, actor: Principal, case_id: int, reasons: list[str]) -> FilingCase:
        actor.require(Permission.SUPERVISE)
        kept = require_reasons(reasons)
        now = self._clock.now()
        with self._uow() as uow:
            uow.filing_cases.get(case_id, for_update=True)  # locked before the read
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
            case.history.append(event("return", actor, now, detail))
            uow.filing_cases.update(case)
            log_step(uow, self._clock.now(), actor, "filing.return", "filing_case", case_id, detail)
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
