"""MANSCDP codec: decoding, parsing, building, PTZ, assembling multi-part catalogues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custos.domain.errors import ValidationFailed
from custos.domain.manscdp import (
    MAX_BODY_BYTES,
    CatalogItem,
    CatalogNotify,
    CatalogResponse,
    DeviceInfoResponse,
    DeviceStatusResponse,
    Keepalive,
    ManscdpError,
    PtzControl,
    Query,
    RecordInfoResponse,
    decode_body,
    parse,
)
from custos.domain.manscdp_assembly import CatalogAssembler
from custos.domain.manscdp_build import (
    build_catalog_responses,
    build_keepalive,
    build_ptz_control,
    build_query,
)
from custos.domain.manscdp_ptz import Pan, PtzCommand, Tilt, Zoom

DEVICE = "34020000001320000001"
CHANNEL_1 = "34020000001310000001"
CHANNEL_2 = "34020000001310000002"
T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)

# What an NVR of a well-known make sends: GB2312, CRLF, Chinese names, 2022-edition extras.
CATALOG_GB2312 = (
    '<?xml version="1.0" encoding="GB2312"?>\r\n'
    "<Response>\r\n<CmdType>Catalog</CmdType>\r\n<SN>17430</SN>\r\n"
    f"<DeviceID>{DEVICE}</DeviceID>\r\n<SumNum>2</SumNum>\r\n"
    '<DeviceList Num="1">\r\n<Item>\r\n'
    f"<DeviceID>{CHANNEL_1}</DeviceID>\r\n<Name>大门口东侧</Name>\r\n"
    "<Manufacturer>海康威视</Manufacturer>\r\n<Model>DS-2CD3T46</Model>\r\n"
    "<Owner>Owner</Owner>\r\n<CivilCode>340200</CivilCode>\r\n<Address>一号楼</Address>\r\n"
    f"<Parental>0</Parental>\r\n<ParentID>{DEVICE}</ParentID>\r\n"
    "<RegisterWay>1</RegisterWay>\r\n<Secrecy>0</Secrecy>\r\n<Status>ON</Status>\r\n"
    "<Longitude>106.55</Longitude>\r\n<Latitude>29.56</Latitude>\r\n"
    "<CustomName>东门</CustomName>\r\n<StreamNumberList>0/1</StreamNumberList>\r\n"
    "<Info><PTZType>1</PTZType></Info>\r\n"
    "</Item>\r\n</DeviceList>\r\n</Response>\r\n"
).encode("gb2312")


def _catalog(body: bytes) -> CatalogResponse:
    message = parse(body)
    assert isinstance(message, CatalogResponse)
    return message


def test_gb2312_catalog_part_with_chinese_names_is_read() -> None:
    message = parse(CATALOG_GB2312)
    assert isinstance(message, CatalogResponse)
    assert (message.header.sn, message.header.device_id, message.sum_num) == (17430, DEVICE, 2)
    (item,) = message.items
    assert item.device_id == CHANNEL_1
    assert (item.name, item.manufacturer, item.address) == ("大门口东侧", "海康威视", "一号楼")
    assert item.parental is False and item.status == "ON" and item.register_way == 1
    assert item.longitude == pytest.approx(106.55)
    assert item.extra["CustomName"] == "东门"  # 2022 edition field kept, not refused
    assert "Info" not in item.extra


def test_declared_gb2312_body_with_a_gbk_only_character_is_read() -> None:
    body = CATALOG_GB2312.replace("一号楼".encode("gb2312"), "堃".encode("gbk"))
    item = _catalog(body).items[0]
    assert item.address == "堃"


def test_gb2312_body_declared_utf8_is_refused_naming_the_encoding_and_byte() -> None:
    body = CATALOG_GB2312.replace(b'encoding="GB2312"', b'encoding="UTF-8"')
    with pytest.raises(ManscdpError) as caught:
        parse(body)
    assert caught.value.field == "encoding"
    assert "not valid UTF-8" in caught.value.reason and "byte" in caught.value.reason


def test_header_charset_decides_without_a_declaration_and_utf8_then_gb18030_without_either() -> (
    None
):
    body = "<Notify><CmdType>Keepalive</CmdType><SN>1</SN>"
    body += f"<DeviceID>{DEVICE}</DeviceID><Status>好</Status></Notify>"
    assert decode_body(body.encode("gb2312"), "GB2312") == body
    assert decode_body(body.encode("utf-8"), None) == body
    assert decode_body(body.encode("gb2312"), None) == body
    with pytest.raises(ManscdpError, match="Content-Type charset"):
        decode_body(body.encode("gb2312"), "utf-8")


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ManscdpError, match="ISO-2022-JP"):
        decode_body(b'<?xml version="1.0" encoding="ISO-2022-JP"?><a/>', None)


def test_truncated_xml_is_refused_as_xml() -> None:
    with pytest.raises(ManscdpError) as caught:
        parse(CATALOG_GB2312[: len(CATALOG_GB2312) // 2])
    assert caught.value.field == "xml"


def test_entity_expansion_attack_is_refused_before_parsing() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE Notify [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>{DEVICE}</DeviceID>"
        "<Status>&b;</Status></Notify>"
    )
    with pytest.raises(ManscdpError, match="DTD"):
        parse(laughs.encode())
    with pytest.raises(ManscdpError, match="DTD"):
        parse(laughs.replace("<!DOCTYPE", "<!doctype").encode())


def test_oversized_body_is_refused_before_decoding() -> None:
    with pytest.raises(ManscdpError) as caught:
        parse(b"<Notify>" + b" " * MAX_BODY_BYTES + b"</Notify>")
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (f"<Notify><SN>1</SN><DeviceID>{DEVICE}</DeviceID></Notify>", "CmdType"),
        (f"<Notify><CmdType>Keepalive</CmdType><DeviceID>{DEVICE}</DeviceID></Notify>", "SN"),
        ("<Notify><CmdType>Keepalive</CmdType><SN>1</SN></Notify>", "DeviceID"),
        (
            "<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>3402</DeviceID></Notify>",
            "DeviceID",
        ),
        (
            f"<Notify><CmdType>Keepalive</CmdType><SN>-1</SN><DeviceID>{DEVICE}</DeviceID></Notify>",
            "SN",
        ),
        (
            f"<Hello><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>{DEVICE}</DeviceID></Hello>",
            "root",
        ),
        (
            f"<Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>{DEVICE}</DeviceID>"
            "<SumNum>1</SumNum><DeviceList Num='1'><Item><DeviceID>12345678901234567890X"
            "</DeviceID></Item></DeviceList></Response>",
            "Item[0].DeviceID",
        ),
    ],
)
def test_missing_or_malformed_fields_are_refused_with_the_field(body: str, field: str) -> None:
    with pytest.raises(ManscdpError) as caught:
        parse(body.encode())
    assert caught.value.field == field
    assert caught.value.errors[0].field == field


def test_keepalive_query_deviceinfo_devicestatus_recordinfo_are_typed() -> None:
    keepalive = parse(build_keepalive(5, DEVICE))
    assert isinstance(keepalive, Keepalive) and keepalive.status == "OK"
    query = parse(build_query("Catalog", 7, DEVICE))
    assert isinstance(query, Query) and query.header.cmd_type == "Catalog"
    info = parse(
        f"<Response><CmdType>DeviceInfo</CmdType><SN>2</SN><DeviceID>{DEVICE}</DeviceID>"
        "<Result>OK</Result><DeviceName>前门NVR</DeviceName><Manufacturer>Hikvision</Manufacturer>"
        "<Model>DS-7608</Model><Firmware>V4.1</Firmware><Channel>8</Channel></Response>".encode()
    )
    assert isinstance(info, DeviceInfoResponse)
    assert (info.device_name, info.channels, info.firmware) == ("前门NVR", 8, "V4.1")
    status = parse(
        f"<Response><CmdType>DeviceStatus</CmdType><SN>3</SN><DeviceID>{DEVICE}</DeviceID>"
        "<Result>OK</Result><Online>ONLINE</Online><Status>OK</Status><Record>OFF</Record>"
        "<DeviceTime>2026-12-06T16:00:00</DeviceTime></Response>".encode()
    )
    assert isinstance(status, DeviceStatusResponse)
    assert (status.online, status.record) == ("ONLINE", "OFF")
    records = parse(
        f"<Response><CmdType>RecordInfo</CmdType><SN>4</SN><DeviceID>{DEVICE}</DeviceID>"
        f"<SumNum>1</SumNum><RecordList Num='1'><Item><DeviceID>{CHANNEL_1}</DeviceID>"
        "<StartTime>2026-12-06T08:00:00</StartTime><EndTime>2026-12-06T09:00:00</EndTime>"
        "<Type>time</Type></Item></RecordList></Response>".encode()
    )
    assert isinstance(records, RecordInfoResponse)
    assert records.items[0].start_time == "2026-12-06T08:00:00"


def test_catalog_change_notification_carries_events() -> None:
    body = (
        f"<Notify><CmdType>Catalog</CmdType><SN>9</SN><DeviceID>{DEVICE}</DeviceID>"
        f"<SumNum>2</SumNum><DeviceList Num='2'><Item><DeviceID>{CHANNEL_1}</DeviceID>"
        f"<Event>OFF</Event></Item><Item><DeviceID>{CHANNEL_2}</DeviceID><Name>新</Name>"
        "<Event>ADD</Event></Item></DeviceList></Notify>"
    )
    message = parse(body.encode())
    assert isinstance(message, CatalogNotify)
    assert [(i.device_id, i.event) for i in message.items] == [
        (CHANNEL_1, "OFF"),
        (CHANNEL_2, "ADD"),
    ]


# --- PTZ -------------------------------------------------------------------------------------


def test_ptz_command_bytes_match_the_standard_examples() -> None:
    assert PtzCommand().to_hex() == "A50F0100000000B5"  # stop, address 1
    assert PtzCommand(tilt=Tilt.UP, tilt_speed=0xFA).to_hex() == "A50F010800FA00B7"
    left_in = PtzCommand(pan=Pan.LEFT, zoom=Zoom.IN, pan_speed=0x80, zoom_speed=3, address=0x123)
    raw = left_in.to_bytes()
    assert raw[3] == 0x12 and raw[4] == 0x80 and raw[6] == 0x31 and raw[2] == 0x23
    assert raw[7] == sum(raw[:7]) % 256
    assert PtzCommand.from_hex(left_in.to_hex()) == left_in


def test_ptz_control_round_trips_through_manscdp() -> None:
    command = PtzCommand(pan=Pan.RIGHT, pan_speed=64)
    message = parse(build_ptz_control(11, CHANNEL_1, command))
    assert isinstance(message, PtzControl) and message.command == command


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("A50F01000000B5", "16 hexadecimal"),
        ("B50F0100000000B5", "first byte"),
        ("A50E0100000000B4", "check nibble"),
        ("A50F0100000000B6", "checksum"),
        ("A50F010300000000", "checksum"),
        ("A50F0103000000B8", "opposite"),
        ("A50F0181000000", "16 hexadecimal"),
        ("ZZ0F0100000000B5", "hexadecimal"),
    ],
)
def test_bad_ptz_commands_are_refused(text: str, words: str) -> None:
    with pytest.raises(ValidationFailed, match=words):
        PtzCommand.from_hex(text)


def test_ptz_speed_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="zoom_speed"):
        PtzCommand(zoom=Zoom.IN, zoom_speed=16)


# --- building and assembling -----------------------------------------------------------------


def _channels(count: int) -> list[CatalogItem]:
    return [
        CatalogItem(device_id=f"3402000000131{n:07d}", name=f"通道{n}", status="ON", parental=False)
        for n in range(1, count + 1)
    ]


def test_catalog_response_pages_carry_sumnum_and_read_back_in_gb2312() -> None:
    bodies = build_catalog_responses(42, DEVICE, _channels(9), page_size=4)
    assert len(bodies) == 3
    assert all(b.startswith(b'<?xml version="1.0" encoding="GB2312"?>') for b in bodies)
    assert "通道1".encode("gb2312") in bodies[0]
    parts = [_catalog(b) for b in bodies]
    assert [len(p.items) for p in parts] == [4, 4, 1]
    assert {p.sum_num for p in parts} == {9}
    assert b'<DeviceList Num="1">' in bodies[2]


def test_empty_catalogue_is_one_message_with_sumnum_zero() -> None:
    (body,) = build_catalog_responses(1, DEVICE, [], encoding="UTF-8")
    message = parse(body)
    assert isinstance(message, CatalogResponse) and message.sum_num == 0 and message.items == ()


def test_a_name_gb2312_cannot_carry_is_refused_not_garbled() -> None:
    item = CatalogItem(device_id=CHANNEL_1, name="堃")
    with pytest.raises(ManscdpError, match="GB2312"):
        build_catalog_responses(1, DEVICE, [item])
    utf8 = _catalog(build_catalog_responses(1, DEVICE, [item], encoding="UTF-8")[0])
    assert utf8.items[0].name == "堃"


def test_names_with_xml_markup_are_escaped() -> None:
    item = CatalogItem(device_id=CHANNEL_1, name="<b>&门")
    body = build_catalog_responses(1, DEVICE, [item])[0]
    assert _catalog(body).items[0].name == "<b>&门"


def test_assembler_completes_out_of_order_parts_with_duplicates() -> None:
    parts = [_catalog(b) for b in build_catalog_responses(5, DEVICE, _channels(7), page_size=3)]
    assembler = CatalogAssembler()
    assert assembler.add(parts[2], T0) is None
    assert assembler.add(parts[0], T0) is None
    assert assembler.add(parts[0], T0) is None
    whole = assembler.add(parts[1], T0 + timedelta(seconds=1))
    assert whole is not None and whole.sum_num == 7 and len(whole.items) == 7
    assert assembler.pending == 0
    assert assembler.add(parts[1], T0 + timedelta(seconds=2)) is None  # late retransmission
    assert assembler.pending == 0 and assembler.expire(T0 + timedelta(minutes=5)) == []


def test_assembler_gives_up_after_the_timeout_saying_what_was_missing() -> None:
    parts = [_catalog(b) for b in build_catalog_responses(6, DEVICE, _channels(5), page_size=2)]
    assembler = CatalogAssembler(timeout=timedelta(seconds=30))
    assembler.add(parts[0], T0)
    assert assembler.expire(T0 + timedelta(seconds=29)) == []
    (lost,) = assembler.expire(T0 + timedelta(seconds=30))
    assert (lost.sn, lost.sum_num, lost.received) == (6, 5, 2)
    assert assembler.pending == 0


def test_parts_of_different_sns_or_devices_do_not_mix() -> None:
    a = _catalog(build_catalog_responses(1, DEVICE, _channels(2), page_size=1)[0])
    b = _catalog(build_catalog_responses(2, DEVICE, _channels(2), page_size=1)[1])
    assembler = CatalogAssembler()
    assert assembler.add(a, T0) is None
    assert assembler.add(b, T0) is None
    assert assembler.pending == 2
