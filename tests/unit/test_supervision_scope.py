"""Whom the supervision console shows what: deny by default, containment, scopes, narrowing."""

from __future__ import annotations

from custos.domain.access import Role
from custos.domain.kinds import PublicPlaceArticle
from custos.domain.registry import Site
from custos.domain.users import SYSTEM, Principal
from custos.services.supervision_scope import area_of, in_area, supervises


def _site(site_id: int, unit_id: int, division: str) -> Site:
    return Site(
        site_id, unit_id, f"site {site_id}", division, "", None, None, True,
        PublicPlaceArticle.ART7_P2, False, False,
    )  # fmt: skip


def _sup(jurisdiction: str | None, scopes: tuple[str, ...] = ()) -> Principal:
    return Principal(7, "sup", Role.SUPERVISOR, None, jurisdiction=jurisdiction, scopes=scopes)


WEIBIN, YANTA = _site(1, 1, "610302"), _site(2, 2, "610113")


def test_no_jurisdiction_reaches_nothing_and_the_system_everything() -> None:
    assert not supervises(_sup(None), WEIBIN)
    assert supervises(SYSTEM, WEIBIN) and supervises(SYSTEM, YANTA)


def test_a_jurisdiction_reaches_the_divisions_inside_it() -> None:
    assert supervises(_sup("610302"), WEIBIN) and not supervises(_sup("610302"), YANTA)
    assert supervises(_sup("610300"), WEIBIN) and not supervises(_sup("610300"), YANTA)
    assert supervises(_sup("610000"), WEIBIN) and supervises(_sup("610000"), YANTA)


def test_scopes_narrow_the_jurisdiction() -> None:
    assert supervises(_sup("610000", ("unit:1",)), WEIBIN)
    assert not supervises(_sup("610000", ("unit:1",)), YANTA)
    assert supervises(_sup("610000", ("site:2",)), YANTA)
    assert supervises(_sup("610000", ("camera:9",)), YANTA, camera_ids=[9])
    assert not supervises(_sup("610000", ("camera:9",)), YANTA, camera_ids=[8])
    assert not supervises(_sup("610302", ("site:2",)), YANTA)  # scopes never widen


def test_a_picked_division_narrows_and_never_widens() -> None:
    city = _sup("610300")
    assert area_of(city, None) == "610300"
    assert area_of(city, "610302") == "610302"  # inside: narrowed
    assert area_of(city, "610000") == "610300"  # wider: the jurisdiction
    assert area_of(city, "610113") == ""  # outside: nothing
    assert area_of(_sup(None), "610302") == ""
    assert area_of(SYSTEM, None) is None and area_of(SYSTEM, "610113") == "610113"
    assert in_area(None, "610302") and not in_area("", "610302")
    assert in_area("610300", "610302") and not in_area("610302", "610113")
