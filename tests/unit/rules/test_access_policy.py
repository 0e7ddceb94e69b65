"""The access policy against the real packs: each jurisdiction's demands and their articles."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from custos.domain.access_policy import check_request
from custos.domain.access_requests import (
    AccessRequest,
    ApprovalDocument,
    EmergencyKind,
    FootageScope,
    Handler,
    Relation,
    ShownCredential,
    UnitConsent,
)
from custos.domain.calendar import shanghai_date
from custos.domain.kinds import AccessAction
from custos.domain.rules.engine import RuleBook
from custos.domain.rules.terms import ApproverRole, Credential, RequesterKind

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
DOC = ApprovalDocument("No. 1", "Bureau", shanghai_date(NOW), "0" * 64, "a.pdf", 10)


#: Every paper some pack asks for: a handler showing all of them satisfies every pack.
PAPERS = (
    Credential.WORK_ID,
    Credential.CERTIFYING_DOCUMENT,
    Credential.UNIT_CERTIFYING_DOCUMENT,
    Credential.LAW_ENFORCEMENT_ID,
)


def handler(i: int, credential: Credential | tuple[Credential, ...]) -> Handler:
    kinds = (credential,) if isinstance(credential, Credential) else credential
    shown = tuple(ShownCredential(k, f"N{i}-{n}") for n, k in enumerate(kinds))
    return Handler(f"officer {i}", shown)


def request(
    action: AccessAction,
    kind: RequesterKind = RequesterKind.POLICE,
    handlers: int = 2,
    credential: Credential | tuple[Credential, ...] = PAPERS,
    document: ApprovalDocument | None = DOC,
    emergency: EmergencyKind | None = None,
) -> AccessRequest:
    return AccessRequest(
        id=1,
        action=action,
        scope=FootageScope((1,), NOW - timedelta(hours=2), NOW - timedelta(hours=1)),
        requester_kind=kind,
        organ="Bureau",
        organ_unit="",
        legal_basis="law",
        purpose="case",
        handlers=tuple(handler(i, credential) for i in range(handlers)),
        document=document,
        emergency=emergency,
        expires_at=NOW + timedelta(days=1),
        requested_by=1,
        created_at=NOW,
    )


def rule_ids(book: RuleBook, req: AccessRequest, division: str) -> set[str]:
    errors, _ = check_request(req, [book.effective(division)])
    return {e.rule_id for e in errors if e.rule_id}


def test_a_complete_xian_copy_passes_and_needs_the_county_police_head(book: RuleBook) -> None:
    errors, demands = check_request(request(AccessAction.COPY), [book.effective("610113")])
    assert errors == []
    assert demands.titles == (ApproverRole.HEAD_OF_POLICE_COUNTY_PLUS,)
    assert demands.min_handlers == 2


@pytest.mark.parametrize(
    ("division", "cited"),
    [
        ("610113", {"xian-2020:art27.p2.i1", "shaanxi-2011:art18.i1"}),
        ("210102", {"liaoning-2008:art18.i1"}),
        ("110105", {"beijing-2007:art17.i1"}),
        ("500103", {"chongqing-2016:art25.p2.i1"}),
    ],
)
def test_one_handler_is_refused_everywhere_with_the_local_articles(
    book: RuleBook, division: str, cited: set[str]
) -> None:
    req = request(AccessAction.VIEW, handlers=1, credential=Credential.WORK_ID)
    errors, _ = check_request(req, [book.effective(division)])
    handler_errors = {e.rule_id for e in errors if e.field == "handlers"}
    assert cited <= handler_errors


def test_the_decree_alone_still_requires_two_handlers(book: RuleBook) -> None:
    # Guangdong (44): only the national Decree applies; it states no number, Custos asks for two.
    errors, demands = check_request(
        request(AccessAction.VIEW, handlers=1), [book.effective("440103")]
    )
    assert demands.min_handlers == 2
    assert [e.field for e in errors] == ["handlers"]


def test_documents_by_jurisdiction_and_action(book: RuleBook) -> None:
    no_doc = {a: request(a, document=None) for a in AccessAction}
    assert "liaoning-2008:art18.i2" in rule_ids(book, no_doc[AccessAction.VIEW], "210102")
    assert rule_ids(book, no_doc[AccessAction.VIEW], "610113") == set()
    assert "shaanxi-2011:art18.p2" in rule_ids(book, no_doc[AccessAction.RETRIEVE], "610202")


def test_emergency_only_entitlements_require_the_emergency(book: RuleBook) -> None:
    # Liaoning art. 17 para 2 lets government departments in only in emergencies, but the Decree
    # (art. 20) entitles them to view and retrieve in general: the request passes. Copying in
    # Beijing is entitled only by art. 16 (emergencies) and, through retrieval, by the Decree.
    dept = request(AccessAction.VIEW, kind=RequesterKind.GOV_DEPT)
    assert check_request(dept, [book.effective("110105")])[0] == []
    subject = request(
        AccessAction.COPY, kind=RequesterKind.DATA_SUBJECT, credential=Credential.WORK_ID
    )
    errors, _ = check_request(subject, [book.effective("110105")])
    assert "requester_kind" in {e.field for e in errors}


def test_demands_are_the_union_over_cameras_in_different_jurisdictions(book: RuleBook) -> None:
    req = request(AccessAction.VIEW, document=None, credential=Credential.WORK_ID)
    errors, _ = check_request(req, [book.effective("110105"), book.effective("210102")])
    fields = {e.field for e in errors}
    assert "document" in fields  # Liaoning's camera needs it
    assert "handlers[0].credentials" in fields  # Liaoning wants law-enforcement IDs


@pytest.mark.parametrize(
    ("division", "shown", "cited"),
    [
        ("110105", (Credential.WORK_ID,), {"beijing-2007:art17.i2"}),
        ("500103", (Credential.WORK_ID,), {"chongqing-2016:art25.p2.i2"}),
        (
            "610113",
            (Credential.WORK_ID, Credential.LAW_ENFORCEMENT_ID),
            {"xian-2020:art27.p2.i2"},
        ),
    ],
)
def test_a_work_id_alone_is_refused_where_the_rules_want_two_papers(
    book: RuleBook, division: str, shown: tuple[Credential, ...], cited: set[str]
) -> None:
    errors, _ = check_request(
        request(AccessAction.VIEW, credential=shown), [book.effective(division)]
    )
    refused = {e.rule_id for e in errors if e.field == "handlers[0].credentials"}
    assert refused == cited
    assert all("handlers[1]" in e.field or e.field == "handlers[0].credentials" for e in errors)


@pytest.mark.parametrize(
    ("division", "shown"),
    [
        ("110105", (Credential.WORK_ID, Credential.CERTIFYING_DOCUMENT)),
        ("500103", (Credential.WORK_ID, Credential.UNIT_CERTIFYING_DOCUMENT)),
        (
            "610113",
            (
                Credential.WORK_ID,
                Credential.UNIT_CERTIFYING_DOCUMENT,
                Credential.LAW_ENFORCEMENT_ID,
            ),
        ),
        ("610202", (Credential.LAW_ENFORCEMENT_ID,)),
    ],
)
def test_each_handler_showing_every_paper_passes(
    book: RuleBook, division: str, shown: tuple[Credential, ...]
) -> None:
    errors, demands = check_request(
        request(AccessAction.VIEW, credential=shown), [book.effective(division)]
    )
    assert errors == []
    assert demands.credentials == frozenset(shown)


def test_a_data_subject_view_is_judged_by_art21_not_by_the_authorities_rules(
    book: RuleBook,
) -> None:
    consent = UnitConsent(1, "物业经理 陈", date(2026, 11, 20), Relation.CLOSE_RELATIVE)
    subject = request(AccessAction.VIEW, kind=RequesterKind.DATA_SUBJECT, handlers=0, document=None)
    errors, _ = check_request(subject, [book.effective("500103")])
    assert {(e.field, e.rule_id) for e in errors} == {("consents", "national-2025:art21")}
    consented = dataclasses.replace(subject, consents=(consent,))
    errors, demands = check_request(consented, [book.effective("500103")])
    assert errors == []
    assert demands.min_handlers == 0 and demands.titles == ()
