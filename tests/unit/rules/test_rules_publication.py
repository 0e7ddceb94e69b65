"""The packs' ``publication:`` section: what a copy for public dissemination must mask."""

from __future__ import annotations

import copy
from importlib.resources import files
from typing import Any

import pytest
import yaml

from custos.adapters.rulepack_loader import RulePackInvalid, parse_rulepack
from custos.domain.errors import ValidationFailed
from custos.domain.rules import RuleBook
from custos.domain.rules.publication import publication_duty
from custos.domain.rules.terms import MaskTarget

XIAN, BEIJING, SHANGHAI = "610113", "110105", "310101"


def test_every_division_masks_faces_plates_and_organisation_names_by_decree_799(
    book: RuleBook,
) -> None:
    for division in (BEIJING, SHANGHAI):
        duty = publication_duty(book.packs_for_division(division))
        assert set(duty.targets) == {
            MaskTarget.FACES, MaskTarget.PLATES, MaskTarget.ORGANISATION_NAMES,
        }  # fmt: skip
        assert [c.rule_id for c in duty.citations] == ["national-2025:art22"]


def test_xian_adds_art_28_and_individual_features(book: RuleBook) -> None:
    duty = publication_duty(book.packs_for_division(XIAN))
    assert MaskTarget.INDIVIDUAL_FEATURES in duty.targets
    assert [c.rule_id for c in duty.targets[MaskTarget.PLATES]] == [
        "national-2025:art22", "xian-2020:art28",
    ]  # fmt: skip
    assert [c.rule_id for c in duty.targets[MaskTarget.ORGANISATION_NAMES]] == [
        "national-2025:art22"
    ]


def test_an_unmasked_publication_is_refused_naming_the_field_and_the_articles(
    book: RuleBook,
) -> None:
    duty = publication_duty(book.packs_for_division(XIAN))
    with pytest.raises(ValidationFailed) as refused:
        duty.check([MaskTarget.FACES, MaskTarget.INDIVIDUAL_FEATURES], field="publication.mask")
    by_field = {e.field: e for e in refused.value.errors}
    assert set(by_field) == {"publication.mask.plates", "publication.mask.organisation_names"}
    assert by_field["publication.mask.plates"].rule_id == "national-2025:art22, xian-2020:art28"
    assert by_field["publication.mask.plates"].key == "refusal.publication_unmasked"
    duty.check(list(MaskTarget))  # everything masked: accepted


def _xian_document() -> dict[str, Any]:
    text = (files("custos") / "rulepacks" / "xian-2020.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


def test_the_loader_reads_the_section_and_refuses_unknown_targets_and_empty_lists() -> None:
    pack = parse_rulepack(_xian_document(), "xian-2020.yaml")
    assert pack.publication is not None
    assert pack.publication.citation.rule_id == "xian-2020:art28"
    for bad, reason in [
        ({"mask": ["tattoos"], "cite": "xian-2020:art28"}, "is not one of"),
        ({"mask": [], "cite": "xian-2020:art28"}, "at least one"),
        ({"mask": ["faces"], "cite": "beijing-2007:art1"}, "must cite an article of xian-2020"),
        ({"mask": ["faces"]}, "missing required key"),
    ]:
        document = copy.deepcopy(_xian_document())
        document["publication"] = bad
        with pytest.raises(RulePackInvalid, match=reason):
            parse_rulepack(document, "xian-2020.yaml")


def test_a_pack_without_the_section_has_no_publication_rule() -> None:
    document = _xian_document()
    del document["publication"]
    assert parse_rulepack(document, "xian-2020.yaml").publication is None
