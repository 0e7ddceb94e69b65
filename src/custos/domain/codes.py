"""Validated codes: unified social credit code, administrative division code, device address code.

Each is a frozen dataclass holding the exact text. ``parse(text, field=...)`` raises
:class:`~custos.domain.errors.ValidationFailed` with one :class:`FieldError` that names the field
and says exactly what is wrong. Building one directly (``CreditCode("...")``) validates too, with
the default field name. Text is taken as given: no trimming, no case folding.

Sources and what is certain
---------------------------
* ``CreditCode`` — GB 32100-2015 (统一社会信用代码): 18 characters from a 31-character set,
  check character by weighted sum mod 31. The registration-authority and entity-type tables
  (positions 1–2) are not enforced; they have been extended since 2015.
* ``DivisionCode`` — GB/T 2260 (行政区划代码): 6 digits; the 34 province-level prefixes are
  enforced. Whether a given city or county code exists is not checked (the table changes yearly).
* ``AddressCode`` — the 20-digit device code of GB/T 28181 (编码规则 A), used as a camera's
  地址码 (obligations.md §8 D-08): centre code (8) · industry (2) · type (3) · network (1) ·
  serial (6). ``TYPE_CODES`` and ``INDUSTRY_CODES`` hold only the entries of the 2016 edition's
  tables that several independent sources agree on; later editions fill parts of the extension
  ranges (e.g. 119–130), which are accepted but not named here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Self

from custos.domain.errors import FieldError, ValidationFailed

# --- GB 32100-2015 -----------------------------------------------------------------------------

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100, in value order 0..30 (no I, O, S, V, Z)."""

_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_EXCLUDED = frozenset("IOSVZ")

REGISTRATION_AUTHORITIES = {"1": "机构编制", "5": "民政", "9": "工商", "Y": "其他"}
"""Position 1 codes named in GB 32100-2015 itself. Not exhaustive (later additions exist)."""


def credit_check_character(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (already in the alphabet)."""
    total = sum(
        CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


@dataclass(frozen=True)
class Problem:
    """What is wrong with a code: the English ``reason`` and the catalogue ``key`` with its
    ``params``, so that each client can say it in its user's language."""

    reason: str
    key: str
    params: dict[str, object] = field(default_factory=dict)


def _credit_code_problem(text: str) -> Problem | None:
    if len(text) != 18:
        return Problem(
            f"must be 18 characters, got {len(text)}",
            "code.length",
            {"length": 18, "got": len(text)},
        )
    for position, char in enumerate(text, start=1):
        at = {"char": char, "position": position}
        if char in CREDIT_CODE_ALPHABET:
            continue
        if char.isalpha() and char.islower():
            return Problem(
                f"lowercase letter {char!r} at position {position}; letters must be uppercase",
                "credit.lowercase",
                at,
            )
        if char in _CREDIT_EXCLUDED:
            return Problem(
                f"letter {char!r} at position {position} is not used "
                "(GB 32100 excludes I, O, S, V, Z)",
                "credit.excluded",
                at,
            )
        return Problem(
            f"character {char!r} at position {position} is not in the GB 32100 character set",
            "credit.charset",
            at,
        )
    if not text[2:8].isdigit():
        return Problem(
            "positions 3–8 (administrative division code) must be digits", "credit.division"
        )
    expected = credit_check_character(text[:17])
    if text[17] != expected:
        return Problem(
            f"check character is {text[17]!r}, expected {expected!r}",
            "credit.check",
            {"got": text[17], "expected": expected},
        )
    return None


@dataclass(frozen=True)
class CreditCode:
    """An 18-character unified social credit code (统一社会信用代码), GB 32100-2015."""

    value: str

    def __post_init__(self) -> None:
        _raise_if(_credit_code_problem(self.value), "credit_code")

    @classmethod
    def parse(cls, text: str, field: str = "credit_code") -> Self:
        _raise_if(_credit_code_problem(text), field)
        return cls(text)

    @property
    def registration_authority(self) -> str:
        """Position 1: 登记管理部门代码."""
        return self.value[0]

    @property
    def entity_type(self) -> str:
        """Position 2: 机构类别代码."""
        return self.value[1]

    @property
    def division(self) -> str:
        """Positions 3–8: the registering authority's division code (may be national, 100000)."""
        return self.value[2:8]

    @property
    def organisation_code(self) -> str:
        """Positions 9–17: 主体标识码 (the GB 11714 organisation code)."""
        return self.value[8:17]

    def __str__(self) -> str:
        return self.value


# --- GB/T 2260 ---------------------------------------------------------------------------------

PROVINCES: dict[str, str] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}
"""The 34 province-level prefixes of GB/T 2260 and their names."""


def _digits_problem(text: str, length: int) -> Problem | None:
    if len(text) != length:
        return Problem(
            f"must be {length} digits, got {len(text)} characters",
            "code.length",
            {"length": length, "got": len(text)},
        )
    for position, char in enumerate(text, start=1):
        if not ("0" <= char <= "9"):
            return Problem(
                f"must contain only digits 0-9; found {char!r} at position {position}",
                "code.only_digits",
                {"char": char, "position": position},
            )
    return None


def _division_problem(text: str) -> Problem | None:
    problem = _digits_problem(text, 6)
    if problem:
        return problem
    if text[:2] not in PROVINCES:
        return Problem(
            f"{text[:2]} is not a GB/T 2260 province-level code",
            "code.bad_province",
            {"code": text[:2]},
        )
    if text[2:4] == "00" and text[4:6] != "00":
        return Problem(
            "digits 5–6 name a county but digits 3–4 name no city (00)", "code.county_without_city"
        )
    return None


@dataclass(frozen=True)
class DivisionCode:
    """A 6-digit administrative division code (行政区划代码), GB/T 2260."""

    value: str

    def __post_init__(self) -> None:
        _raise_if(_division_problem(self.value), "division_code")

    @classmethod
    def parse(cls, text: str, field: str = "division_code") -> Self:
        _raise_if(_division_problem(text), field)
        return cls(text)

    @property
    def province(self) -> str:
        """The province-level prefix, e.g. ``"61"``."""
        return self.value[:2]

    @property
    def province_name(self) -> str:
        return PROVINCES[self.province]

    @property
    def city(self) -> str:
        """The city-level prefix, e.g. ``"6101"``."""
        return self.value[:4]

    @property
    def is_province_level(self) -> bool:
        return self.value.endswith("0000")

    @property
    def is_city_level(self) -> bool:
        return self.value.endswith("00") and not self.is_province_level

    @property
    def is_county_level(self) -> bool:
        return not self.value.endswith("00")

    def contains(self, other: DivisionCode) -> bool:
        """True if ``other`` is this division or lies inside it."""
        if self.is_province_level:
            return other.province == self.province
        if self.is_city_level:
            return other.city == self.city
        return other.value == self.value

    def __str__(self) -> str:
        return self.value


# --- GB/T 28181 device code --------------------------------------------------------------------


class NetworkKind(enum.StrEnum):
    """Digit 14 of a GB/T 28181 code: which network the device sits on."""

    MONITORING_PRIVATE = "monitoring_private"  # 0–4
    PUBLIC_SECURITY = "public_security"  # 5
    GOVERNMENT = "government"  # 6
    INTERNET = "internet"  # 7
    SOCIAL_RESOURCE = "social_resource"  # 8
    RESERVED = "reserved"  # 9

    @classmethod
    def from_digit(cls, digit: int) -> NetworkKind:
        if not 0 <= digit <= 9:
            raise ValueError(f"network digit must be 0-9, got {digit}")
        if digit <= 4:
            return cls.MONITORING_PRIVATE
        return _NETWORK_BY_DIGIT[digit]

    @property
    def label_zh(self) -> str:
        return _NETWORK_LABELS_ZH[self]


_NETWORK_BY_DIGIT = {
    5: NetworkKind.PUBLIC_SECURITY,
    6: NetworkKind.GOVERNMENT,
    7: NetworkKind.INTERNET,
    8: NetworkKind.SOCIAL_RESOURCE,
    9: NetworkKind.RESERVED,
}
_NETWORK_LABELS_ZH = {
    NetworkKind.MONITORING_PRIVATE: "监控报警专网",
    NetworkKind.PUBLIC_SECURITY: "公安信息网",
    NetworkKind.GOVERNMENT: "政务网",
    NetworkKind.INTERNET: "Internet",
    NetworkKind.SOCIAL_RESOURCE: "社会资源接入网",
    NetworkKind.RESERVED: "预留",
}

TYPE_CODE_RANGES: tuple[tuple[int, int, str], ...] = (
    (111, 130, "前端主设备"),
    (131, 199, "前端外围设备"),
    (200, 299, "平台设备"),
    (300, 399, "中心用户"),
    (400, 499, "终端用户"),
    (500, 599, "平台外接服务器"),
)
"""The type-code categories Custos accepts. 000–110 are unallocated; 600–999 are the standard's
open extension range, which names no device, so Custos refuses them rather than guess."""

TYPE_CODES: dict[str, str] = {
    "111": "DVR",
    "112": "视频服务器",
    "113": "编码器",
    "114": "解码器",
    "115": "视频切换矩阵",
    "116": "音频切换矩阵",
    "117": "报警控制器",
    "118": "网络视频录像机(NVR)",
    "131": "摄像机",
    "132": "网络摄像机(IPC)",
    "133": "显示器",
    "134": "报警输入设备",
    "135": "报警输出设备",
    "136": "语音输入设备",
    "137": "语音输出设备",
    "138": "移动传输设备",
    "200": "中心信令控制服务器",
    "201": "Web应用服务器",
    "202": "媒体分发服务器",
    "203": "代理服务器",
    "204": "安全服务器",
    "205": "报警服务器",
    "206": "数据库服务器",
    "207": "GIS服务器",
    "208": "管理服务器",
    "209": "接入网关",
    "210": "媒体存储服务器",
    "211": "信令安全路由网关",
    "215": "业务分组",
    "216": "虚拟组织",
    "300": "中心用户",
    "400": "终端用户",
}
"""Named type codes of GB/T 28181-2016. The gaps in each range are extension codes."""

CAMERA_TYPE_CODES = frozenset({"131", "132"})
"""A camera's own address code must carry one of these: 131 camera, 132 network camera."""

RECORDABLE_TYPE_CODES = CAMERA_TYPE_CODES | frozenset({"111", "112", "113", "118"})
"""Devices whose video Custos may record: cameras, and the front-end devices that carry camera
channels (DVR, video server, encoder, NVR). A camera record still needs a camera type code."""

INDUSTRY_CODES: dict[str, str] = {
    "00": "社会治安路面接入",
    "01": "社会治安社区接入",
    "02": "社会治安内部接入",
    "03": "社会治安其他接入",
    "04": "交通路面接入",
    "05": "交通卡口接入",
    "06": "交通内部接入",
    "07": "交通其他接入",
    "08": "城市管理接入",
    "09": "卫生环保接入",
    "10": "商检海关接入",
    "11": "教育部门接入",
    "40": "农林牧渔业接入",
    "41": "采矿企业接入",
    "42": "制造企业接入",
    "43": "冶金企业接入",
    "44": "电力企业接入",
    "45": "燃气企业接入",
    "46": "建筑企业接入",
    "47": "物流企业接入",
    "48": "邮政企业接入",
    "49": "信息企业接入",
    "50": "住宿和餐饮业接入",
    "51": "金融企业接入",
    "52": "房地产业接入",
    "53": "商务服务业接入",
    "54": "水利企业接入",
    "55": "娱乐企业接入",
}
"""Named industry codes. Groups: 00–39 government organs, 40–79 enterprises and institutions,
80–89 residents' own systems, 90–99 other owners. Every code 00–99 is accepted."""


def _type_category(type_code: str) -> str | None:
    number = int(type_code)
    return next((name for low, high, name in TYPE_CODE_RANGES if low <= number <= high), None)


def _address_problem(text: str) -> Problem | None:
    problem = _digits_problem(text, 20)
    if problem:
        return problem
    centre = _division_problem(text[:6])
    if centre:
        reason = f"centre code digits 1–6 ({text[:6]}): {centre.reason}"
        return Problem(reason, centre.key, centre.params)
    if _type_category(text[10:13]) is None:
        return Problem(
            f"type code {text[10:13]} (digits 11–13) is not a GB/T 28181 device type (111–599)",
            "code.bad_type",
            {"code": text[10:13]},
        )
    return None


@dataclass(frozen=True)
class AddressCode:
    """A camera's 地址码: the 20-digit GB/T 28181 device code."""

    value: str

    def __post_init__(self) -> None:
        _raise_if(_address_problem(self.value), "address_code")

    @classmethod
    def parse(cls, text: str, field: str = "address_code") -> Self:
        _raise_if(_address_problem(text), field)
        return cls(text)

    @classmethod
    def parse_camera(cls, text: str, field: str = "address_code") -> Self:
        """Parse, and also require a camera type code (:data:`CAMERA_TYPE_CODES`)."""
        code = cls.parse(text, field)
        if not code.is_camera:
            name = code.type_name or code.type_category
            reason = (
                f"type code {code.type_code} ({name}) is not a camera; "
                "a camera needs 131 (摄像机) or 132 (网络摄像机)"
            )
            _raise_if(Problem(reason, "code.not_camera", {"code": code.type_code}), field)
        return code

    @property
    def centre_code(self) -> str:
        """Digits 1–8 (中心编码): division (1–6) and grass-roots unit (7–8)."""
        return self.value[:8]

    @property
    def centre_division(self) -> DivisionCode:
        return DivisionCode(self.value[:6])

    @property
    def grassroots_unit(self) -> str:
        return self.value[6:8]

    @property
    def industry_code(self) -> str:
        return self.value[8:10]

    @property
    def industry_name(self) -> str | None:
        return INDUSTRY_CODES.get(self.industry_code)

    @property
    def type_code(self) -> str:
        return self.value[10:13]

    @property
    def type_name(self) -> str | None:
        """The device type's name, or None for an extension code."""
        return TYPE_CODES.get(self.type_code)

    @property
    def type_category(self) -> str:
        category = _type_category(self.type_code)
        assert category is not None  # guaranteed by validation
        return category

    @property
    def network_digit(self) -> int:
        return int(self.value[13])

    @property
    def network(self) -> NetworkKind:
        return NetworkKind.from_digit(self.network_digit)

    @property
    def serial(self) -> str:
        return self.value[14:]

    @property
    def is_camera(self) -> bool:
        return self.type_code in CAMERA_TYPE_CODES

    @property
    def is_recordable(self) -> bool:
        return self.type_code in RECORDABLE_TYPE_CODES

    def check_against_division(
        self, division: DivisionCode, field: str = "address_code"
    ) -> list[FieldError]:
        """Errors if the centre code is not the site's division or one of its ancestors.

        A provincial or city centre may register cameras in counties below it; a centre in
        another province, city or county may not. Returns at most one error.
        """
        centre = self.centre_division
        if centre.contains(division):
            return []
        return [
            FieldError(
                field,
                f"centre code division {centre} is neither the site's division {division} "
                "nor one above it",
                key="code.centre_outside",
                params={"centre": str(centre), "division": str(division)},
            )
        ]

    def __str__(self) -> str:
        return self.value


def _raise_if(problem: Problem | None, field: str) -> None:
    if problem is not None:
        raise ValidationFailed(
            FieldError(field, problem.reason, key=problem.key, params=problem.params)
        )
