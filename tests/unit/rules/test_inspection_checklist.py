"""The inspection checklist from the packs (docs/design/filing.md D6): one item per duty a pack
states, each citing real articles of the packs in force there, merged across packs, with the
penalty the texts give (none where the errata say so)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from custos.domain.errors import ValidationFailed
from custos.domain.inspection import TEXTS, checklist
from custos.domain.kinds import PublicPlaceArticle
from custos.domain.rectification import Notice, NoticeState, check_fine, overdue_findings
from custos.domain.rules import RuleBook
from custos.domain.rules.citation import Citation
from custos.domain.rules.model import RulePack

DIVISIONS = {
    "beijing": "110105",
    "liaoning": "210102",
    "shaanxi": "610202",  # Tongchuan: Shaanxi without Xi'an
    "xian": "610113",
    "chongqing": "500103",
    "elsewhere": "440305",  # Shenzhen: Decree 799 alone
}


def _citations_of(value: object) -> set[Citation]:
    """Every Citation anywhere inside a pack (its rules, penalties, duties)."""
    if isinstance(value, Citation):
        return {value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return set().union(
            *(_citations_of(getattr(value, f.name)) for f in dataclasses.fields(value))
        )
    if isinstance(value, (tuple, list, frozenset, set)):
        return set().union(*(_citations_of(v) for v in value)) if value else set()
    return set()


@pytest.mark.parametrize("place", sorted(DIVISIONS))
def test_each_item_cites_real_articles_of_the_packs_in_force(book: RuleBook, place: str) -> None:
    code = DIVISIONS[place]
    packs: dict[str, RulePack] = {p.id: p for p in book.packs_for_division(code)}
    stated = {pack_id: _citations_of(p) for pack_id, p in packs.items()}
    items = checklist(book, [code])
    keys = [i.key for i in items]
    assert len(keys) == len(set(keys)) and set(keys) <= set(TEXTS)
    assert {"filing.initial", "signage", "categories.prohibited", "publication.masking"} <= set(
        keys
    )
    for item in items:
        assert item.citations, item.key
        assert len(set(item.citations)) == len(item.citations), item.key
        for c in item.citations:
            assert c.pack_id in packs, (item.key, c)
            assert c in stated[c.pack_id], (item.key, c.rule_id)
        assert item.text_zh and item.text_en and "{" not in item.text_zh + item.text_en
        penalties = [book.penalty_for(c) for c in item.citations]
        assert {p.citation for p in item.penalties} == {p.citation for p in penalties if p}
    # each pack in force is cited by some item
    assert {c.pack_id for i in items for c in i.citations} == set(packs)


def test_xian_merges_with_shaanxi_and_keeps_the_errata(book: RuleBook) -> None:
    items = {i.key: i for i in checklist(book, ["610113"])}
    signage = items["signage"]
    assert {c.rule_id for c in signage.citations} >= {"shaanxi-2011:art11", "xian-2020:art13"}
    assert signage.penalty is not None and signage.penalty.citation.rule_id == "shaanxi-2011:art23"
    assert (signage.penalty.fine.unit_min, signage.penalty.fine.unit_max) == (500, 1000)
    assert items["retention.days"].text_zh == "视频图像信息留存不少于30日"
    assert items["access.handlers"].text_en.startswith(
        "Retrievals of footage are handled by at least 2"
    )
    # errata 1: Xi'an art. 22 items 3, 4 and 8 carry no fine in the texts
    for key, article in (
        ("operating.staff_archive", "xian-2020:art22.i3"),
        ("operating.assessment", "xian-2020:art22.i4"),
        ("operating.room_access", "xian-2020:art22.i8"),
    ):
        assert [c.rule_id for c in items[key].citations] == [article]
        assert items[key].penalty is None and items[key].penalties == ()
    # item 6 (restore after a fault): only Decree 799's art. 31, which states no amount
    restore = items["operating.restore_after_fault"]
    assert all(p.fine.is_empty for p in restore.penalties)
    # a duty Xi'an defers to Shaanxi art. 25
    duty = items["operating.duty_monitoring"]
    assert duty.penalty is not None and duty.penalty.citation.rule_id == "shaanxi-2011:art25"


def test_liaoning_items_and_fines(book: RuleBook) -> None:
    items = {i.key: i for i in checklist(book, ["210102"])}
    assert "acceptance.before_use" not in items  # Liaoning states no such duty
    duty = items["operating.duty_monitoring"]
    assert [c.rule_id for c in duty.citations] == ["liaoning-2008:art14.i3"]
    assert duty.penalty is not None and duty.penalty.citation.rule_id == "liaoning-2008:art23"
    assert (duty.penalty.fine.unit_min, duty.penalty.fine.unit_max) == (200, 500)
    assert [c.rule_id for c in items["access.handlers"].citations] == ["liaoning-2008:art18.i1"]


def test_two_divisions_give_one_list_citing_both(book: RuleBook) -> None:
    both = {i.key: i for i in checklist(book, ["210102", "610113"])}
    packs = {c.pack_id for c in both["operating.duty_monitoring"].citations}
    assert packs == {"liaoning-2008", "shaanxi-2011", "xian-2020"}


def test_decree_799_exemptions_of_the_inspected_sites(book: RuleBook) -> None:
    shenzhen = DIVISIONS["elsewhere"]
    every = {
        i.key: i for i in checklist(book, [shenzhen], [(shenzhen, PublicPlaceArticle.ART7_P2)])
    }
    assert every.keys() == {i.key for i in checklist(book, [shenzhen])}
    # art. 9 para 2: an art. 9 place is exempt from arts. 11, 14, 15, 16 para 2 and 17
    art9 = {i.key: i for i in checklist(book, [shenzhen], [(shenzhen, PublicPlaceArticle.ART9)])}
    assert "filing.initial" in every and "filing.initial" not in art9
    assert "retention.days" not in art9 and "access.registration" not in art9
    assert "signage" in art9 and "publication.masking" in art9
    # one site that is not exempt keeps the duty on the list
    both = [(shenzhen, PublicPlaceArticle.ART9), (shenzhen, PublicPlaceArticle.ART7_P2)]
    assert "filing.initial" in {i.key for i in checklist(book, [shenzhen], both)}
    # a Xi'an art. 9 place still owes Xi'an's and Shaanxi's duties, not Decree 799's
    xian = DIVISIONS["xian"]
    retention = next(
        i
        for i in checklist(book, [xian], [(xian, PublicPlaceArticle.ART9)])
        if i.key == "retention.days"
    )
    assert {c.pack_id for c in retention.citations} == {"shaanxi-2011", "xian-2020"}


def _notice(book: RuleBook, key: str, code: str = "210102") -> Notice:
    item = next(i for i in checklist(book, [code]) if i.key == key)
    at = datetime(2026, 11, 20, 2, tzinfo=UTC)
    return Notice(
        1, 1, 1, key, NoticeState.OPEN, date(2026, 12, 20), at, item.text_zh, item.text_en,
        item.citations, item.penalty, item.penalties, division_codes=[code],
    )  # fmt: skip


def test_an_escalation_amount_lies_in_the_range(book: RuleBook) -> None:
    notice = _notice(book, "operating.duty_monitoring")
    with pytest.raises(ValidationFailed) as refused:
        check_fine(notice, None, "unit", 501)
    [error] = refused.value.errors
    assert error.rule_id == "liaoning-2008:art23" and "200–500" in error.reason
    assert check_fine(notice, None, "unit", 500).citation.rule_id == "liaoning-2008:art23"
    with pytest.raises(ValidationFailed):
        check_fine(notice, None, "person", 100)  # art. 23 fines no responsible person
    with pytest.raises(ValidationFailed):
        check_fine(notice, "liaoning-2008:art99", "unit", 300)


def test_overdue_is_after_the_due_date_in_shanghai_and_until_closed(book: RuleBook) -> None:
    notice = _notice(book, "operating.duty_monitoring")
    assert overdue_findings([notice], date(2026, 12, 20)) == []
    [finding] = overdue_findings([notice], date(2026, 12, 21))
    assert finding.code == "rectification.overdue" and finding.due == date(2026, 12, 20)
    assert finding.penalty_rule_id == "liaoning-2008:art23" and finding.fine is not None
    assert finding.fine.unit_max == 500
    notice.state = NoticeState.CLOSED
    assert overdue_findings([notice], date(2027, 1, 30)) == []
