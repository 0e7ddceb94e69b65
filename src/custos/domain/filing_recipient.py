"""Who receives a filing: the public-security organ of the site's county-level division.

Decree 799 art. 14 (向所在地县级人民政府公安机关备案), Chongqing art. 16 (区县公安机关), Xi'an
art. 19 ¶2 (区县、开发区公安机关), Shaanxi art. 15 (所在地县级公安机关). In a city district (GB/T
2260 digits 5–6 from 01 to 20, 市辖区) that organ is a branch of the city bureau (西安市公安局雁塔
分局); in a county, a county-level city or a banner it is the county bureau (蓝田县公安局).

Custos holds no table of division names (docs/design/registry.md): the name comes from the
site's ``division_name`` (``西安市雁塔区``) when the registrant gave it; without it the organ is
described by province and code and marked unnamed. A given name also decides the kind (a name
ending in 区 is a district), because the code's 01–20 convention has exceptions: Chongqing's
districts run to 500156. Most city bureaus name a district branch without 区 (北京市公安局朝阳分局);
Chongqing and Guangzhou keep it (重庆市公安局铜梁区分局, 广州市公安局天河区分局).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from custos.domain.codes import DivisionCode


class OrganKind(enum.StrEnum):
    DISTRICT_BRANCH = "district_branch"  # 公安分局 of a city district
    COUNTY_BUREAU = "county_bureau"  # 公安局 of a county, county-level city or banner
    CITY_BUREAU = "city_bureau"  # the site's code names no county: the city bureau


#: A division name: a city part then the county part (…区/县/市/旗). The city part ends at its
#: first 市 when one comes before the county part (广州市天河区), else at 地区, 盟 or 州
#: (延边朝鲜族自治州延吉市).
_CITY_THEN_COUNTY = [
    re.compile(r"^(?:.+?(?:省|自治区))?(?P<city>[^市]+?市)(?P<county>.+)$"),
    re.compile(r"^(?:.+?(?:省|自治区))?(?P<city>.+?(?:地区|盟|州))(?P<county>.+)$"),
]
#: Where the branch of a city district keeps 区 in its name (GB/T 2260 prefixes).
_BRANCH_KEEPS_DISTRICT = ("50", "4401")
#: Where districts are numbered past 20 (Chongqing: 500101–500156).
_DISTRICTS_PAST_20 = ("50",)
_COUNTY_SUFFIXES = ("区", "县", "市", "旗", "特区", "林区")


@dataclass(frozen=True)
class FilingRecipient:
    division_code: str
    kind: OrganKind
    name_zh: str
    named: bool  # False: described by code, the site's division name is missing

    def as_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "kind": self.kind.value,
            "name_zh": self.name_zh,
            "named": self.named,
        }


def division_name_problem(name: str, division_code: str = "") -> str | None:
    """Why ``name`` cannot be the name of the division ``division_code``, or None."""
    if not name:
        return None
    if len(name) > 60 or not all("\u4e00" <= ch <= "\u9fff" for ch in name):
        return "the division's Chinese name, e.g. 西安市雁塔区 (at most 60 characters)"
    if not name.endswith(_COUNTY_SUFFIXES):
        return "a county-level name ends with 区, 县, 市 or 旗 (e.g. 西安市雁塔区, 蓝田县)"
    county = division_code[4:6]
    city, _ = _split(name)
    # 01–20 are a city's districts; a prefecture (州, 地区, 盟) numbers its county-level cities so
    if (
        county.isdigit()
        and 1 <= int(county) <= 20
        and city.endswith("市")
        and not name.endswith("区")
    ):
        return f"{division_code} is a city district (市辖区): its name ends with 区"
    if (
        county.isdigit()
        and int(county) > 20
        and name.endswith("区")
        and not name.endswith("林区")
        and not division_code.startswith(_DISTRICTS_PAST_20)
    ):
        return f"{division_code} is a county or county-level city, not a district (区)"
    return None


def filing_recipient(division_code: str, division_name: str = "") -> FilingRecipient:
    """The organ that receives the site's filings (see the module's articles)."""
    code = DivisionCode.parse(division_code[:6].ljust(6, "0"))
    if not code.is_county_level:
        kind = OrganKind.CITY_BUREAU
    elif division_name.endswith("区") and not division_name.endswith("林区"):
        kind = OrganKind.DISTRICT_BRANCH
    elif division_name or int(code.value[4:6]) > 20:
        kind = OrganKind.COUNTY_BUREAU
    else:
        kind = OrganKind.DISTRICT_BRANCH
    name = _name(kind, division_name, code.value) if division_name else None
    if name is not None:
        return FilingRecipient(code.value, kind, name, True)
    suffix = {
        OrganKind.DISTRICT_BRANCH: "市辖区公安分局",
        OrganKind.COUNTY_BUREAU: "县级公安局",
        OrganKind.CITY_BUREAU: "市公安局",
    }[kind]
    return FilingRecipient(code.value, kind, f"{code.province_name}{code.value}{suffix}", False)


def _split(division_name: str) -> tuple[str, str]:
    """(city part, county part); the city part is empty when the name has none."""
    for pattern in _CITY_THEN_COUNTY:
        if found := pattern.match(division_name):
            return found["city"], found["county"]
    return "", division_name


def _name(kind: OrganKind, division_name: str, code: str) -> str | None:
    city, county = _split(division_name)
    if kind is OrganKind.CITY_BUREAU:
        return f"{division_name}公安局"
    if kind is OrganKind.DISTRICT_BRANCH and city and county.endswith("区"):
        branch = county if code.startswith(_BRANCH_KEEPS_DISTRICT) else county.removesuffix("区")
        return f"{city}公安局{branch}分局"
    if kind is OrganKind.COUNTY_BUREAU:
        return f"{county}公安局"
    return f"{division_name}公安分局" if kind is OrganKind.DISTRICT_BRANCH else None
