"""Filing across systems (docs/design/filing.md D3 "Across systems", and "Filings received from
another system"): the unit's system exports a submission as a signed ``custos-filing/1`` file;
a bureau's Custos imports it, decides, and exports its decision as a signed
``custos-filing-decision/1`` file, which the unit's system records
(:mod:`custos.services.filing_decisions`).

A received filing refers to no site of the bureau's registry (no placeholder is made): it keeps
the package's facts, and the package and its PDF are stored by hash in the document store.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from custos import __version__
from custos.domain.access import Permission
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.divisions import DivisionTable
from custos.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custos.domain.filing_case import CaseState, Channel, Decision, require_reasons
from custos.domain.filing_exchange import (
    DECISION_FORMAT,
    DECISION_JSON,
    FILING_FORMAT,
    MANIFEST,
    PACKAGE_JSON,
    PACKAGE_PDF,
    ExchangeRefused,
    ReceivedFiling,
    ReceivedState,
    canonical,
    manifest_of,
    pack,
    sha256,
)
from custos.domain.rules.facts import FilingKind
from custos.domain.users import Principal
from custos.services.filing import Documents
from custos.services.filing_exchange_ports import (
    DECIDE,
    DECISION_EXPORT,
    EXPORT,
    IMPORT,
    MAX_FILING_NUMBER,
    ExchangeSigner,
    ExchangeUnitOfWork,
    ExchangeUnitOfWorkFactory,
    event,
    in_jurisdiction,
    json_of,
    log_step,
    opened,
    reaches,
    refused,
)
from custos.services.filing_ports import claim_filing_number

__all__ = ["MAX_FILING_NUMBER", "ExchangeSigner", "FilingExchange"]

#: The sender's receipt number names download files: plain ASCII only (review 3.2).
RECEIPT_NUMBER = re.compile(r"[0-9A-Za-z-]{1,64}")


class FilingExchange:
    def __init__(
        self,
        uow: ExchangeUnitOfWorkFactory,
        divisions: DivisionTable,
        clock: Clock,
        documents: Documents,
        signer: ExchangeSigner,
    ) -> None:
        self._uow, self._divisions, self._clock = uow, divisions, clock
        self._documents, self._signer = documents, signer

    # ---- the unit's side: export a submission ------------------------------------------------
    def export(self, actor: Principal, case_id: int) -> tuple[str, bytes]:
        """The latest submission as a signed ``custos-filing/1`` zip; marks its channel export."""
        actor.require(Permission.FILING_WRITE)
        now = self._clock.now()
        with self._uow() as uow:
            case = uow.filing_cases.get(case_id, for_update=True)
            site = uow.sites.get(case.site_id) if case else None
            if case is None or site is None or not reaches(actor, site.unit_id, site, uow):
                raise NotFound("filing case", case_id)
            latest = case.latest
            if latest is not None and latest.channel is Channel.INTERNAL:
                # the bureau in this Custos decides it: an export would let the unit record a
                # decision of its own on it (filing design D3, D7)
                raise ValidationFailed(
                    FieldError(
                        "channel",
                        "this submission went to the bureau inside this Custos, which decides "
                        "it; submit again by export to file with another system",
                        key="refusal.filing_export_internal",
                    )
                )
            if latest is None or case.state is not CaseState.SUBMITTED:
                raise ValidationFailed(
                    FieldError(
                        "state",
                        f"a {case.state} case has no submission waiting for a decision: "
                        "submit it first",
                        key="refusal.filing_not_submitted",
                        params={"state": case.state.value},
                    )
                )
            package = self._documents.read(latest.package_sha256)
            pdf = self._documents.read(latest.pdf_sha256)
            if package is None or pdf is None:
                raise NotFound("package", latest.package_sha256)
            members = {PACKAGE_JSON: package, PACKAGE_PDF: pdf}
            about = {
                "system": {"name": "Custos", "version": __version__},
                "exported_at": now.isoformat(),
                "submission": latest.as_dict() | {"channel": Channel.EXPORT.value},
                "case": {
                    "kind": case.kind.value,
                    "trigger_date": case.trigger_date.isoformat(),
                    "due": case.due.isoformat() if case.due else None,
                    "citations": list(case.citations),
                    "recipient": case.recipient.as_dict(),
                    "diff": case.diff,
                },
            }
            manifest = manifest_of(FILING_FORMAT, members, about)
            signature, public_pem = self._signer.sign(manifest)
            data = pack(members, manifest, signature, public_pem)
            case.submissions[-1] = dataclasses.replace(latest, channel=Channel.EXPORT)
            detail = {
                "receipt_number": latest.receipt_number,
                "package_sha256": latest.package_sha256,
                "manifest_sha256": sha256(manifest),
                "file_sha256": sha256(data),
            }
            case.history.append(event("export", actor, now, detail))
            uow.filing_cases.update(case)
            log_step(uow, now, actor, EXPORT, "filing_case", case_id, detail)
            uow.commit()
        return f"filing-{latest.receipt_number}.zip", data

    # ---- the bureau's side: import, decide, export the decision ------------------------------
    def import_filing(self, actor: Principal, data: bytes) -> ReceivedFiling:
        actor.require(Permission.SUPERVISE)
        now = self._clock.now()
        found, key = opened(self._signer, data, FILING_FORMAT)
        package = json_of(found, PACKAGE_JSON)
        submission = _object(found.manifest, "submission", MANIFEST)
        case = _object(found.manifest, "case", MANIFEST)
        profile = _object(package, "system_profile", PACKAGE_JSON)
        units = _object(package, "units", PACKAGE_JSON)
        unit = _object(units, "user", PACKAGE_JSON, "units.user")
        recipient = _object(case, "recipient", MANIFEST, "case.recipient") or _object(
            package, "recipient", PACKAGE_JSON
        )
        kind = case.get("kind", FilingKind.INITIAL.value)
        if kind not in {k.value for k in FilingKind}:
            raise refused(ExchangeRefused(MANIFEST, "case.kind is not a filing kind"))
        due = case.get("due")
        if due is not None and not isinstance(due, str):
            raise refused(ExchangeRefused(MANIFEST, "case.due is not a date"))
        receipt = submission.get("receipt_number")
        if not isinstance(receipt, str) or not RECEIPT_NUMBER.fullmatch(receipt):
            raise refused(
                ExchangeRefused(
                    MANIFEST,
                    "submission.receipt_number is not 1 to 64 of 0-9, A-Z, a-z and -",
                ),
                key="refusal.filing_receipt_number",
            )
        package_sha = sha256(found.members[PACKAGE_JSON])
        if (
            submission.get("package_sha256") != package_sha
            or canonical(package) != (found.members[PACKAGE_JSON])
        ):
            raise refused(
                ExchangeRefused(PACKAGE_JSON, "is not the canonical package the submission names")
            )
        division = str(profile.get("division_code", ""))
        field_name = "package.system_profile.division_code"
        if self._divisions.lookup(division) is None or len(division) != 6:
            raise ValidationFailed(
                FieldError(
                    field_name,
                    f"{division} is not in the GB/T 2260 table ({self._divisions.source})",
                    key="refusal.filing_import_unknown_division",
                    params={"division_code": division, "table": self._divisions.source},
                )
            )
        if not in_jurisdiction(actor, division):
            raise ValidationFailed(
                FieldError(
                    field_name,
                    f"{division} is outside your jurisdiction ({actor.jurisdiction})",
                    key="refusal.filing_outside_jurisdiction",
                    params={"division_code": division, "jurisdiction": actor.jurisdiction},
                )
            )
        with self._uow() as uow:
            if uow.filing_receipts.by_submission(receipt, package_sha) is not None:
                raise Conflict("file", f"submission {receipt} was imported already")
            pdf_sha = self._documents.put(found.members[PACKAGE_PDF])
            self._documents.put(found.members[PACKAGE_JSON])
            received = ReceivedFiling(
                id=None,
                division_code=division,
                state=ReceivedState.RECEIVED,
                receipt_number=receipt,
                package_sha256=package_sha,
                pdf_sha256=pdf_sha,
                received_at=now,
                sender_key=key,
                kind=str(kind),
                site=dict(profile),
                unit=dict(unit),
                recipient=dict(recipient),
                due=due,
            )
            detail = {"receipt_number": receipt, "package_sha256": package_sha, "key": key}
            received.history.append(event("import", actor, now, detail))
            uow.filing_receipts.add(received)
            log_step(uow, now, actor, IMPORT, "filing_receipt", received.id, detail)
            uow.commit()
        return received

    def received(self, actor: Principal) -> list[ReceivedFiling]:
        actor.require(Permission.SUPERVISE)
        with self._uow() as uow:
            found = uow.filing_receipts.find()
        return [f for f in found if in_jurisdiction(actor, f.division_code)]

    def get_received(self, actor: Principal, receipt_id: int) -> ReceivedFiling:
        actor.require(Permission.SUPERVISE)
        with self._uow() as uow:
            return self._receipt(uow, actor, receipt_id)

    def package_of(self, actor: Principal, receipt_id: int, pdf: bool) -> tuple[str, bytes]:
        """The received package as filed: its canonical JSON, or its PDF."""
        f = self.get_received(actor, receipt_id)
        digest = f.pdf_sha256 if pdf else f.package_sha256
        data = self._documents.read(digest)
        if data is None:
            raise NotFound("package", digest)
        return f"filing-{f.receipt_number}.{'pdf' if pdf else 'json'}", data

    def decide(
        self,
        actor: Principal,
        receipt_id: int,
        decision: Decision,
        filing_number: str | None = None,
        reasons: list[str] | None = None,
    ) -> ReceivedFiling:
        """Accept (a filing number given or generated) or return (with reasons)."""
        actor.require(Permission.SUPERVISE)
        now = self._clock.now()
        number = (filing_number or "").strip()
        if len(number) > MAX_FILING_NUMBER:
            raise ValidationFailed(
                FieldError("filing_number", f"at most {MAX_FILING_NUMBER} characters")
            )
        kept = require_reasons(reasons or []) if decision is Decision.RETURNED else []
        with self._uow() as uow:
            f = self._receipt(uow, actor, receipt_id, for_update=True)
            if f.state is not ReceivedState.RECEIVED:
                raise ValidationFailed(
                    FieldError(
                        "state",
                        f"this filing was {f.state} already",
                        key="refusal.filing_decided_already",
                        params={"state": f.state.value},
                    )
                )
            f.decided_on = shanghai_date(now)
            if decision is Decision.ACCEPTED:
                f.state = ReceivedState.ACCEPTED
                f.filing_number = claim_filing_number(
                    uow, number, f.division_code, f.decided_on.year
                )
            else:
                f.state, f.reasons = ReceivedState.RETURNED, kept
            detail = {
                "decision": decision.value,
                "filing_number": f.filing_number,
                "reasons": f.reasons,
                "package_sha256": f.package_sha256,
            }
            f.history.append(event("decide", actor, now, detail))
            uow.filing_receipts.update(f)
            log_step(uow, now, actor, DECIDE, "filing_receipt", receipt_id, detail)
            uow.commit()
        return f

    def decision_file(self, actor: Principal, receipt_id: int) -> tuple[str, bytes]:
        """The decision as a signed ``custos-filing-decision/1`` zip for the unit's system."""
        actor.require(Permission.SUPERVISE)
        now = self._clock.now()
        with self._uow() as uow:
            f = self._receipt(uow, actor, receipt_id, for_update=True)
            if f.state is ReceivedState.RECEIVED or f.decided_on is None:
                raise ValidationFailed(
                    FieldError(
                        "state",
                        "no decision yet: accept or return the filing first",
                        key="refusal.filing_no_decision",
                    )
                )
            organ = self._divisions.lookup(f.division_code)
            decision = {
                "receipt_number": f.receipt_number,
                "package_sha256": f.package_sha256,
                "decision": f.state.value,
                "filing_number": f.filing_number,
                "reasons": f.reasons,
                "decided_on": f.decided_on.isoformat(),
                "organ": {
                    "division_code": f.division_code,
                    "organ_name": str(
                        f.recipient.get("organ_name") or f.recipient.get("name_zh", "")
                    ),
                    "division_name": organ.name if organ else "",
                },
                "decided_by": actor.full_name or actor.username,
            }
            members = {DECISION_JSON: canonical(decision)}
            manifest = manifest_of(
                DECISION_FORMAT,
                members,
                {
                    "exported_at": now.isoformat(),
                    "system": {"name": "Custos", "version": __version__},
                },
            )
            signature, public_pem = self._signer.sign(manifest)
            data = pack(members, manifest, signature, public_pem)
            detail = {"manifest_sha256": sha256(manifest), "file_sha256": sha256(data)}
            f.history.append(event("decision_export", actor, now, detail))
            uow.filing_receipts.update(f)
            log_step(uow, now, actor, DECISION_EXPORT, "filing_receipt", receipt_id, detail)
            uow.commit()
        return f"filing-decision-{f.receipt_number}.zip", data

    # ---- helpers -----------------------------------------------------------------------------
    def _receipt(
        self, uow: ExchangeUnitOfWork, actor: Principal, receipt_id: int, for_update: bool = False
    ) -> ReceivedFiling:
        """The received filing in the actor's jurisdiction; ``for_update`` (a write path) locks
        its row, so two supervisors deciding at once are taken one after the other."""
        f = uow.filing_receipts.get(receipt_id, for_update=for_update)
        if f is None or not in_jurisdiction(actor, f.division_code):
            raise NotFound("received filing", receipt_id)
        return f


def _object(
    body: dict[str, Any], name: str, member: str, path: str | None = None
) -> dict[str, Any]:
    """``body[name]``, a JSON object (absent: empty); anything else refused naming the member."""
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise refused(ExchangeRefused(member, f"{path or name} is not a JSON object"))
    return value
