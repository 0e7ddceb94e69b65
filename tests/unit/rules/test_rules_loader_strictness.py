"""The loader refuses a broken pack with a message naming the file and the key."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from custos.adapters.rulepack_loader import RulePackInvalid, load_rulebook, load_rulepack

Edit = Callable[[dict[str, Any]], None]


def _pack_text(pack_id: str) -> str:
    return resources.files("custos.rulepacks").joinpath(f"{pack_id}.yaml").read_text("utf-8")


def _write_edited(tmp_path: Path, pack_id: str, edit: Edit) -> Path:
    document = yaml.safe_load(_pack_text(pack_id))
    edit(document)
    path = tmp_path / f"{pack_id}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def _refusal(tmp_path: Path, pack_id: str, edit: Edit) -> RulePackInvalid:
    path = _write_edited(tmp_path, pack_id, edit)
    with pytest.raises(RulePackInvalid) as caught:
        load_rulepack(path)
    return caught.value


def test_an_unedited_pack_round_trips_through_the_loader(tmp_path: Path) -> None:
    path = _write_edited(tmp_path, "chongqing-2016", lambda d: None)
    assert load_rulepack(path).id == "chongqing-2016"


def test_an_unknown_top_level_key_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    error = _refusal(tmp_path, "beijing-2007", lambda d: d.update(retention_days=30))
    assert error.source == "beijing-2007.yaml"
    assert error.key == "retention_days"
    assert "beijing-2007.yaml: retention_days: unknown key" in str(error)


def test_an_unknown_nested_key_is_refused_with_its_path(tmp_path: Path) -> None:
    error = _refusal(tmp_path, "xian-2020", lambda d: d["access"].update(min_staff=2))
    assert error.key == "access.min_staff"
    assert "unknown key" in str(error)


def test_an_unknown_category_key_is_refused(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["prohibited_categories"]["toilets"] = "chongqing-2016:art10.i3"

    error = _refusal(tmp_path, "chongqing-2016", edit)
    assert error.key == "prohibited_categories.toilets"
    assert "chongqing-2016.yaml" in str(error)
    assert "unknown prohibited category key" in str(error)


def test_a_mandatory_key_listed_as_prohibited_is_refused(tmp_path: Path) -> None:
    error = _refusal(
        tmp_path,
        "shaanxi-2011",
        lambda d: d["prohibited_categories"].update(school="shaanxi-2011:art8.i6"),
    )
    assert error.key == "prohibited_categories.school"


def test_a_missing_required_key_is_refused(tmp_path: Path) -> None:
    error = _refusal(tmp_path, "liaoning-2008", lambda d: d["retention"].pop("cite"))
    assert error.key == "retention.cite"
    assert "missing required key" in str(error)


def test_a_citation_of_another_pack_is_refused(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["retention"]["cite"] = "national-2025:art17"

    error = _refusal(tmp_path, "liaoning-2008", edit)
    assert error.key == "retention.cite"
    assert "must cite an article of liaoning-2008" in str(error)


def test_a_malformed_citation_is_refused(tmp_path: Path) -> None:
    error = _refusal(
        tmp_path, "beijing-2007", lambda d: d["signage"].update(cite="beijing-2007:15")
    )
    assert error.key == "signage.cite"


def test_a_wrongly_typed_number_is_refused(tmp_path: Path) -> None:
    error = _refusal(tmp_path, "chongqing-2016", lambda d: d["retention"].update(min_days="30"))
    assert error.key == "retention.min_days"


def test_an_unknown_enum_value_is_refused_listing_the_allowed_ones(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["penalties"][0]["violation_key"] = "jaywalking"

    error = _refusal(tmp_path, "national-2025", edit)
    assert error.key == "penalties[0].violation_key"
    assert "filing_violation" in str(error)


def test_a_pack_whose_id_does_not_match_its_file_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(_pack_text("beijing-2007"))
    path = tmp_path / "beijing.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulePackInvalid, match="does not match the file name"):
        load_rulepack(path)


def test_a_rulebook_with_a_missing_parent_is_refused(tmp_path: Path) -> None:
    folder = resources.files("custos.rulepacks")
    for name in ("national-2025.yaml", "xian-2020.yaml"):
        (tmp_path / name).write_text(folder.joinpath(name).read_text("utf-8"), encoding="utf-8")
    with pytest.raises(Exception, match="parent 'shaanxi-2011' is not loaded"):
        load_rulebook(tmp_path)


def test_the_packaged_directory_loads_as_a_copy_too(tmp_path: Path) -> None:
    folder = resources.files("custos.rulepacks")
    for name in ("national-2025.yaml", "shaanxi-2011.yaml", "xian-2020.yaml"):
        with resources.as_file(folder.joinpath(name)) as source:
            shutil.copy(source, tmp_path / name)
    assert [p.id for p in load_rulebook(tmp_path).packs_for_division("610113")] == [
        "national-2025",
        "shaanxi-2011",
        "xian-2020",
    ]


def test_a_duplicate_key_is_refused_rather_than_silently_overwritten(tmp_path: Path) -> None:
    text = _pack_text("shaanxi-2011").replace(
        "  toilet: shaanxi-2011:art8.i3\n",
        "  toilet: shaanxi-2011:art8.i3\n  toilet: shaanxi-2011:art8.i6\n",
    )
    path = tmp_path / "shaanxi-2011.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulePackInvalid) as caught:
        load_rulepack(path)
    assert caught.value.key == "prohibited_categories.toilet"
    assert "shaanxi-2011.yaml: prohibited_categories.toilet: duplicate key" in str(caught.value)


def test_a_deferred_penalty_must_cite_the_parent_pack(tmp_path: Path) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["deferred_penalties"][0]["penalty"] = "beijing-2007:art21"

    error = _refusal(tmp_path, "xian-2020", edit)
    assert error.key == "deferred_penalties[0].penalty"
    assert "shaanxi-2011" in str(error)
