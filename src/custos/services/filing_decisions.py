"""The unit's side of a decision made outside this Custos (docs/design/filing.md D3): a bureau's
signed ``custos-filing-decision/1`` file, or, for paper, the decision typed from the receipt
(with the scan's SHA-256, uploaded as a filing document).

Either way the decision names the submission it decides (a file names its receipt number and
package hash; on paper it is the case's latest submission), moves the case (accepted: the
filing number and ``decided_on``, the Filing row's ``filed_on`` = ``decided_on``; returned: the
reasons) and is logged ``filing.record_decision``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from custos.domain.access import Permission
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.filing_case import CaseState, Channel, Decision, FilingCase, require_reasons
from custos.domain.filing_exchange import DECISION_FORMAT, DECISION_JSON, ExchangeRefused, sha256
from custos.domain.users import Principal
from custos.services.filing import Documents
from custos.services.filing_exchange_ports import (
    MAX_FILING_NUMBER,
    ExchangeSigner,
    ExchangeUnitOfWork,
    ExchangeUnitOfWorkFactory,
    event,
    json_of,
    log_step,
    opened,
    reaches,
    refused,
)
from custos.services.filing_ports import claim_filing_number

RECORD = "filing.record_decision"

#: Called in the recording transaction after an accepted case is written (filing-changes: a
#: change made while the submission was with the bureau becomes a re-filing task).
AfterAcceptance = Callable[[ExchangeUnitOfWork, FilingCase, Principal], None]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class PaperDecision:
    decision: Decision
    decided_on: date
    filing_number: str = ""
    reasons: tuple[str, ...] = ()
    document_sha256: str | None = None  # the scanned receipt, uploaded as a filing document


class FilingDecisions:
    def __init__(
        self,
        uow: ExchangeUnitOfWorkFactory,
        clock: Clock,
        documents: Documents,
        signer: ExchangeSigner,
        after_acceptance: AfterAcceptance | None = None,
    ) -> None:
        self._uow, self._clock, self._documents, self._signer = uow, clock, documents, signer
        self.after_acceptance = after_acceptance

    def record_file(self, actor: Principal, case_id: int, data: bytes) -> FilingCase:
        """A bureau's signed decision file on this case's latest submission."""
        actor.require(Permission.FILING_WRITE)
        found, key = opened(self._signer, data, DECISION_FORMAT)
        body = json_of(found, DECISION_JSON)
        try:
            decision = Decision(str(body.get("decision")))
            decided_on = date.fromisoformat(str(body.get("decided_on")))
        except ValueError:
            raise refused(
                ExchangeRefused(DECISION_JSON, "names no decision (accepted, returned) and date")
            ) from None
        number, reasons, organ = (
            _or(body.get("filing_number"), ""),
            _or(body.get("reasons"), []),
            _or(body.get("organ"), {}),
        )
        if not isinstance(number, str):
            raise refused(ExchangeRefused(DECISION_JSON, "filing_number is not text"))
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise refused(ExchangeRefused(DECISION_JSON, "reasons is not a list of texts"))
        if not isinstance(organ, dict):
            raise refused(ExchangeRefused(DECISION_JSON, "organ is not a JSON object"))
        paper = PaperDecision(decision, decided_on, number, tuple(reasons))
        names = (str(body.get("receipt_number", "")), str(body.get("package_sha256", "")))
        detail: dict[str, object] = {
            "channel": Channel.EXPORT.value,
            "key": key,
            "file_sha256": sha256(data),
            "organ": organ,
        }
        return self._record(actor, case_id, paper, names, detail)

    def record_paper(self, actor: Principal, case_id: int, paper: PaperDecision) -> FilingCase:
        """A decision received on paper, typed by the unit."""
        actor.require(Permission.FILING_WRITE)
        doc = paper.document_sha256
        if doc is not None and (not _SHA256.match(doc) or self._documents.read(doc) is None):
            raise ValidationFailed(
                FieldError(
                    "document_sha256",
                    f"no uploaded document {doc}: upload the receipt's scan first",
                    key="refusal.filing_document_unknown",
                    params={"sha256": doc},
                )
            )
        detail: dict[str, object] = {"channel": Channel.PAPER.value, "document_sha256": doc}
        return self._record(actor, case_id, paper, None, detail)

    def _record(
        self,
        actor: Principal,
        case_id: int,
        paper: PaperDecision,
        names: tuple[str, str] | None,
        detail: dict[str, object],
    ) -> FilingCase:
        now = self._clock.now()
        number = paper.filing_number.strip()
        reasons = (
            require_reasons(list(paper.reasons)) if paper.decision is Decision.RETURNED else []
        )
        if paper.decision is Decision.ACCEPTED and not number:
            raise ValidationFailed(
                FieldError(
                    "filing_number",
                    "an accepted filing has the bureau's filing number",
                    key="refusal.filing_number_required",
                )
            )
        if len(number) > MAX_FILING_NUMBER:
            raise ValidationFailed(
                FieldError("filing_number", f"at most {MAX_FILING_NUMBER} characters")
            )
        with self._uow() as uow:
            case = self._case(uow, actor, case_id)
            latest = case.latest
            if case.state is not CaseState.SUBMITTED or latest is None:
                raise ValidationFailed(
                    FieldError(
                        "state",
                        f"a {case.state} case waits for no decision",
                        key="refusal.filing_not_submitted",
                        params={"state": case.state.value},
                    )
                )
            _check_channel(latest.channel, by_file=names is not None)
            if names is not None and names != (latest.receipt_number, latest.package_sha256):
                raise ValidationFailed(
                    FieldError(
                        "file.decision.json",
                        f"decides submission {names[0]}, not this case's latest "
                        f"({latest.receipt_number})",
                        key="refusal.filing_decision_mismatch",
                        params={"receipt_number": names[0], "latest": latest.receipt_number},
                    )
                )
            today = shanghai_date(now)
            if not latest.submitted_on <= paper.decided_on <= today:
                raise ValidationFailed(
                    FieldError(
                        "decided_on",
                        f"between the submission ({latest.submitted_on}) and today ({today})",
                        key="refusal.filing_decided_on",
                        params={"submitted_on": str(latest.submitted_on), "today": str(today)},
                    )
                )
            if paper.decision is Decision.ACCEPTED:
                number = claim_filing_number(
                    uow, number, case.recipient.division_code, paper.decided_on.year
                )
                case.move(CaseState.ACCEPTED)
                case.filing_number, case.decided_on, case.return_reasons = (
                    number,
                    paper.decided_on,
                    [],
                )
                if case.filing_id is not None and (row := uow.filings.get(case.filing_id)):
                    row.filed_on = paper.decided_on
                    row.receipt_number = number
                    row.recipient = case.recipient.organ_name or row.recipient
                    uow.filings.update(row)
            else:
                case.move(CaseState.RETURNED)
                case.return_reasons = reasons
            logged = dict(detail) | {
                "decision": paper.decision.value,
                "decided_on": paper.decided_on.isoformat(),
                "filing_number": number,
                "reasons": reasons,
                "receipt_number": latest.receipt_number,
                "package_sha256": latest.package_sha256,
            }
            case.history.append(event("record_decision", actor, now, logged))
            uow.filing_cases.update(case)
            log_step(uow, now, actor, RECORD, "filing_case", case_id, logged)
            if paper.decision is Decision.ACCEPTED and self.after_acceptance is not None:
                self.after_acceptance(uow, case, actor)  # a change made while submitted
            uow.commit()
        return case

    def _case(self, uow: ExchangeUnitOfWork, actor: Principal, case_id: int) -> FilingCase:
        case = uow.filing_cases.get(case_id, for_update=True)
        site = uow.sites.get(case.site_id) if case else None
        if case is None or site is None or not reaches(actor, site.unit_id, site, uow):
            raise NotFound("filing case", case_id)
        return case


def _check_channel(channel: Channel, by_file: bool) -> None:
    """Who decides a submission is its channel's (review 1.1): one sent to the bureau in this
    system is decided here by the bureau, never recorded by the unit; a signed decision file
    answers an exported submission; a paper decision, a paper (or exported) one."""
    if channel is Channel.INTERNAL:
        raise ValidationFailed(
            FieldError(
                "decision",
                "the case was submitted to the bureau in this system: the bureau decides it here",
                key="refusal.filing_decided_in_system",
            )
        )
    if by_file and channel is not Channel.EXPORT:
        raise ValidationFailed(
            FieldError(
                "decision",
                f"the latest submission went {channel.value}: a decision file answers an "
                "exported submission only",
                key="refusal.filing_decision_channel",
                params={"channel": channel.value},
            )
        )


def _or(value: Any, absent: Any) -> Any:
    """A member's value; ``absent`` when the member is missing or null (only then)."""
    return absent if value is None else value
