"""The organ that receives a site's filings, named from its county (Decree 799 art. 14)."""

from __future__ import annotations

import pytest

from custos.domain.filing_recipient import OrganKind, division_name_problem, filing_recipient


@pytest.mark.parametrize(
    ("code", "name", "organ", "kind"),
    [
        ("610113", "西安市雁塔区", "西安市公安局雁塔分局", OrganKind.DISTRICT_BRANCH),
        ("110105", "北京市朝阳区", "北京市公安局朝阳分局", OrganKind.DISTRICT_BRANCH),
        ("210102", "辽宁省沈阳市和平区", "沈阳市公安局和平分局", OrganKind.DISTRICT_BRANCH),
        ("610122", "西安市蓝田县", "蓝田县公安局", OrganKind.COUNTY_BUREAU),
        ("500235", "重庆市云阳县", "云阳县公安局", OrganKind.COUNTY_BUREAU),
        ("610581", "渭南市韩城市", "韩城市公安局", OrganKind.COUNTY_BUREAU),
        ("610100", "西安市", "西安市公安局", OrganKind.CITY_BUREAU),
        ("440106", "广州市天河区", "广州市公安局天河区分局", OrganKind.DISTRICT_BRANCH),
        ("320508", "江苏省苏州市姑苏区", "苏州市公安局姑苏分局", OrganKind.DISTRICT_BRANCH),
        ("500151", "重庆市铜梁区", "重庆市公安局铜梁区分局", OrganKind.DISTRICT_BRANCH),
        ("222401", "延边朝鲜族自治州延吉市", "延吉市公安局", OrganKind.COUNTY_BUREAU),
    ],
)
def test_the_recipient_is_the_county_level_organ_by_name(
    code: str, name: str, organ: str, kind: OrganKind
) -> None:
    r = filing_recipient(code, name)
    assert (r.name_zh, r.kind, r.named, r.division_code) == (organ, kind, True, code)


def test_without_a_name_the_organ_is_described_and_marked_unnamed() -> None:
    r = filing_recipient("610113")
    assert r.named is False and r.kind is OrganKind.DISTRICT_BRANCH
    assert r.name_zh == "陕西省610113市辖区公安分局"
    assert filing_recipient("610122").name_zh == "陕西省610122县级公安局"


def test_division_names_are_checked() -> None:
    assert division_name_problem("") is None
    assert division_name_problem("西安市雁塔区") is None
    assert division_name_problem("Yanta District") is not None
    assert division_name_problem("西安市雁塔") is not None
    assert division_name_problem("西安市蓝田县", "610113") is not None  # a district's code
    assert division_name_problem("西安市雁塔区", "610122") is not None  # a county's code
    assert division_name_problem("重庆市铜梁区", "500151") is None  # Chongqing's districts pass 20
    assert division_name_problem("延边朝鲜族自治州延吉市", "222401") is None  # a prefecture's city
