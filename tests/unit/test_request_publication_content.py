"""A request's canonical content: the publication ask is in it only when given, so a request
without one keeps the hash it had before the ask existed (its approvals stay valid)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from custos.domain.access_requests import (
    AccessRequest,
    FootageScope,
    Handler,
    PublicationAsk,
)
from custos.domain.audit_chain import canonical_json
from custos.domain.kinds import AccessAction
from custos.domain.masking import MaskMode
from custos.domain.rules.terms import Credential, MaskTarget, RequesterKind

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _request(**extra: object) -> AccessRequest:
    return AccessRequest(
        id=7,
        action=AccessAction.COPY,
        scope=FootageScope((3,), AT - timedelta(hours=1), AT),
        requester_kind=RequesterKind.POLICE,
        organ="西安市公安局雁塔分局",
        organ_unit="刑侦大队",
        legal_basis="《刑事诉讼法》第五十四条",
        purpose="公开通报",
        handlers=(Handler("王警官", Credential.WORK_ID, "NO-1", None),),
        document=None,
        emergency=None,
        expires_at=AT + timedelta(days=7),
        requested_by=2,
        created_at=AT,
        extra=dict(extra),
    )


def _hash_of(facts: dict[str, object]) -> str:
    return hashlib.sha256(canonical_json(facts).encode()).hexdigest()


def _facts_before_publication(r: AccessRequest) -> dict[str, object]:
    """The canonical content as it was before the ask existed, written out key by key."""
    return {
        "id": 7,
        "action": "copy",
        "scope": r.scope.as_dict(),
        "requester_kind": "police",
        "organ": "西安市公安局雁塔分局",
        "organ_unit": "刑侦大队",
        "legal_basis": "《刑事诉讼法》第五十四条",
        "purpose": "公开通报",
        "handlers": [h.as_dict() for h in r.handlers],
        "document": None,
        "emergency": None,
        "expires_at": "2026-11-27T08:00:00.000000Z",
        "requested_by": 2,
        "required_titles": [],
    }


def test_a_request_without_publication_keeps_its_hash() -> None:
    plain = _request()
    assert "publication" not in plain.content()
    assert plain.canonical_hash() == _hash_of(_facts_before_publication(plain))
    # the case's id, written at execution, is not part of what approvers signed
    executed = _request(publication_case_id=12)
    assert executed.canonical_hash() == plain.canonical_hash()


def test_the_ask_is_in_the_content_and_changes_the_hash() -> None:
    plain = _request()
    ask = PublicationAsk(frozenset({MaskTarget.PLATES, MaskTarget.FACES}), MaskMode.BLUR)
    asked = _request(publication=ask.as_dict())
    assert asked.content()["publication"] == {"mask": ["faces", "plates"], "mode": "blur"}
    assert asked.publication == ask
    assert asked.canonical_hash() != plain.canonical_hash()
    other = PublicationAsk(frozenset({MaskTarget.FACES}), MaskMode.BLUR)
    assert _request(publication=other.as_dict()).canonical_hash() != asked.canonical_hash()
    # taking the ask away gives the plain request's hash back
    assert _request(**asked.extra_with(None)).canonical_hash() == plain.canonical_hash()
