import pytest

from custos.domain.codes import (
    CAMERA_TYPE_CODES,
    PROVINCES,
    RECORDABLE_TYPE_CODES,
    AddressCode,
    CreditCode,
    DivisionCode,
    NetworkKind,
)
from custos.domain.errors import FieldError, ValidationFailed


def only_error(excinfo: pytest.ExceptionInfo[ValidationFailed]) -> FieldError:
    errors = excinfo.value.errors
    assert len(errors) == 1
    return errors[0]


# --- CreditCode (GB 32100-2015) ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "91350100M000100Y43",  # the public example in GB 32100 material
        "91610113MA6W12345B",
        "91210100MA0Y5K7Q84",
        "52500000MJP123456E",
        "12110000400012345U",
        "Y1440300MA5D00000C",
        "91610113MA6W1234N0",  # weighted sum ≡ 0 (mod 31): 31 - 0 = 31 becomes check "0"
    ],
)
def test_credit_code_with_a_correct_check_character_is_accepted(text: str) -> None:
    assert str(CreditCode.parse(text)) == text


def test_credit_code_exposes_its_parts() -> None:
    code = CreditCode.parse("91350100M000100Y43")
    assert code.registration_authority == "9"
    assert code.entity_type == "1"
    assert code.division == "350100"
    assert code.organisation_code == "M000100Y4"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("91350100M000100Y44", "check character is '4', expected '3'"),
        ("91350100M000100Y4", "must be 18 characters, got 17"),
        ("91350100M000100Y433", "must be 18 characters, got 19"),
        ("", "must be 18 characters, got 0"),
        ("91350100m000100Y43", "lowercase letter 'm' at position 9; letters must be uppercase"),
        ("91350100M000100I43", "letter 'I' at position 16 is not used"),
        ("91350100O000100Y43", "letter 'O' at position 9 is not used"),
        ("91350100Z000100Y43", "letter 'Z' at position 9 is not used"),
        ("91350100S000100Y43", "letter 'S' at position 9 is not used"),
        ("91350100V000100Y43", "letter 'V' at position 9 is not used"),
        ("91350100-000100Y43", "character '-' at position 9 is not in the GB 32100 character set"),
        ("913501A0M000100Y43", "positions 3–8 (administrative division code) must be digits"),
    ],
)
def test_credit_code_refusal_says_exactly_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        CreditCode.parse(text, field="user_unit.credit_code")
    error = only_error(excinfo)
    assert error.field == "user_unit.credit_code"
    assert error.reason.startswith(reason)


def test_credit_code_built_directly_is_validated_too() -> None:
    with pytest.raises(ValidationFailed, match="credit_code: check character"):
        CreditCode("91350100M000100Y44")


# --- DivisionCode (GB/T 2260) ------------------------------------------------------------------


def test_there_are_34_province_level_codes() -> None:
    assert len(PROVINCES) == 34
    assert PROVINCES["61"] == "陕西省"
    assert PROVINCES["50"] == "重庆市"


def test_division_code_levels_and_prefixes() -> None:
    shaanxi, xian, yanta = (DivisionCode.parse(t) for t in ("610000", "610100", "610113"))
    assert (yanta.province, yanta.city, yanta.province_name) == ("61", "6101", "陕西省")
    assert (shaanxi.is_province_level, shaanxi.is_city_level) == (True, False)
    assert (xian.is_province_level, xian.is_city_level, xian.is_county_level) == (
        False,
        True,
        False,
    )
    assert (yanta.is_city_level, yanta.is_county_level) == (False, True)


def test_a_division_contains_itself_and_the_divisions_below_it_only() -> None:
    shaanxi, xian, yanta = (DivisionCode.parse(t) for t in ("610000", "610100", "610113"))
    beilin = DivisionCode.parse("610103")
    assert shaanxi.contains(yanta)
    assert xian.contains(yanta)
    assert yanta.contains(yanta)
    assert not yanta.contains(xian)
    assert not yanta.contains(beilin)
    assert not xian.contains(DivisionCode.parse("610200"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("61011", "must be 6 digits, got 5 characters"),
        ("6101130", "must be 6 digits, got 7 characters"),
        ("61O113", "must contain only digits 0-9; found 'O' at position 3"),
        ("６１０１１３", "must contain only digits 0-9; found '６' at position 1"),
        ("190000", "19 is not a GB/T 2260 province-level code"),
        ("610013", "digits 5–6 name a county but digits 3–4 name no city (00)"),
    ],
)
def test_division_code_refusal_says_exactly_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        DivisionCode.parse(text, field="site.division")
    assert only_error(excinfo) == FieldError("site.division", reason)


# --- AddressCode (GB/T 28181) ------------------------------------------------------------------

IPC_IN_YANTA = "61011300" + "00" + "132" + "0" + "000001"


def test_address_code_splits_into_its_gb28181_parts() -> None:
    code = AddressCode.parse(IPC_IN_YANTA)
    assert code.centre_code == "61011300"
    assert code.centre_division == DivisionCode("610113")
    assert code.grassroots_unit == "00"
    assert (code.industry_code, code.industry_name) == ("00", "社会治安路面接入")
    assert (code.type_code, code.type_name, code.type_category) == (
        "132",
        "网络摄像机(IPC)",
        "前端外围设备",
    )
    assert (code.network_digit, code.network) == (0, NetworkKind.MONITORING_PRIVATE)
    assert code.serial == "000001"
    assert code.is_camera
    assert code.is_recordable


@pytest.mark.parametrize(
    ("digit", "kind", "label"),
    [
        (0, NetworkKind.MONITORING_PRIVATE, "监控报警专网"),
        (4, NetworkKind.MONITORING_PRIVATE, "监控报警专网"),
        (5, NetworkKind.PUBLIC_SECURITY, "公安信息网"),
        (6, NetworkKind.GOVERNMENT, "政务网"),
        (7, NetworkKind.INTERNET, "Internet"),
        (8, NetworkKind.SOCIAL_RESOURCE, "社会资源接入网"),
        (9, NetworkKind.RESERVED, "预留"),
    ],
)
def test_network_digit_tells_which_network_the_device_is_on(
    digit: int, kind: NetworkKind, label: str
) -> None:
    code = AddressCode.parse(f"6101130000132{digit}000001")
    assert code.network is kind
    assert code.network.label_zh == label


def test_a_camera_on_the_internet_is_detected() -> None:
    assert AddressCode.parse("61011300001327000001").network is NetworkKind.INTERNET
    assert AddressCode.parse("61011300001325000001").network is not NetworkKind.INTERNET


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("6101130000132000001", "must be 20 digits, got 19 characters"),
        ("610113000013200000012", "must be 20 digits, got 21 characters"),
        ("", "must be 20 digits, got 0 characters"),
        ("61011300001320A00001", "must contain only digits 0-9; found 'A' at position 15"),
        ("6101130000132 000001", "must contain only digits 0-9; found ' ' at position 14"),
        ("99011300001320000001", "centre code digits 1–6 (990113): 99 is not a GB/T 2260"),
        ("61001300001320000001", "centre code digits 1–6 (610013): digits 5–6 name a county"),
        ("61011300000990000001", "type code 099 (digits 11–13) is not a GB/T 28181 device type"),
        ("61011300001100000001", "type code 110 (digits 11–13) is not a GB/T 28181 device type"),
        ("61011300007770000001", "type code 777 (digits 11–13) is not a GB/T 28181 device type"),
    ],
)
def test_address_code_refusal_says_exactly_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        AddressCode.parse(text, field="cameras[0].address_code")
    error = only_error(excinfo)
    assert error.field == "cameras[0].address_code"
    assert error.reason.startswith(reason)


def test_extension_type_codes_are_accepted_but_unnamed() -> None:
    code = AddressCode.parse("61011300001250000001")
    assert code.type_name is None
    assert code.type_category == "前端主设备"
    assert not code.is_camera


def test_industry_codes_outside_the_named_table_are_accepted_but_unnamed() -> None:
    assert AddressCode.parse("61011300851320000001").industry_name is None


def test_a_camera_needs_a_camera_type_code() -> None:
    assert AddressCode.parse_camera("61011300001310000001").is_camera
    with pytest.raises(ValidationFailed) as excinfo:
        AddressCode.parse_camera("61011300001180000001")
    assert only_error(excinfo).reason.startswith(
        "type code 118 (网络视频录像机(NVR)) is not a camera"
    )


def test_recorders_are_recordable_but_not_cameras() -> None:
    assert frozenset({"131", "132"}) == CAMERA_TYPE_CODES
    assert {"111", "112", "113", "118"} <= RECORDABLE_TYPE_CODES
    nvr = AddressCode.parse("61011300001180000001")
    assert nvr.is_recordable
    assert not nvr.is_camera
    assert not AddressCode.parse("61011300002000000001").is_recordable


@pytest.mark.parametrize(
    "centre",
    ["610113", "610100", "610000"],
    ids=["own-county", "parent-city", "parent-province"],
)
def test_a_centre_at_or_above_the_site_may_register_its_cameras(centre: str) -> None:
    code = AddressCode.parse(f"{centre}00001320000001")
    assert code.check_against_division(DivisionCode.parse("610113")) == []


@pytest.mark.parametrize(
    "centre",
    ["500103", "610200", "610103", "620113"],
    ids=["other-province", "other-city", "sibling-county", "province-differs-only"],
)
def test_a_centre_outside_the_site_division_is_refused(centre: str) -> None:
    code = AddressCode.parse(f"{centre}00001320000001")
    errors = code.check_against_division(DivisionCode.parse("610113"), field="address_code")
    assert len(errors) == 1
    assert errors[0].field == "address_code"
    assert f"centre code division {centre}" in errors[0].reason


def test_a_county_centre_may_not_register_a_camera_at_city_level() -> None:
    code = AddressCode.parse("61011300001320000001")
    assert code.check_against_division(DivisionCode.parse("610100")) != []
