"""MANSCDP (GB/T 28181-2016 annex A): the XML bodies carried by SIP MESSAGE, read into typed
messages. Building bodies is :mod:`custos.domain.manscdp_build`; assembling multi-part Catalog
responses is :mod:`custos.domain.manscdp_assembly`; the PTZ command is
:mod:`custos.domain.manscdp_ptz`.

Hostile input: a body over :data:`MAX_BODY_BYTES`, or one with a DTD (``<!DOCTYPE``) or an
entity declaration, is refused before any XML parser sees it, so entity expansion ("billion
laughs") and external entities cannot happen. Every refusal is a :class:`ManscdpError` (a
:class:`ValidationFailed`) naming the field or step that failed.

Encodings: the XML declaration's ``encoding`` decides (GB2312, GBK, GB18030, UTF-8); GB2312 and
GBK are decoded as GB18030, their superset, because devices that declare GB2312 send GBK
characters. Without a declaration the SIP ``Content-Type`` charset decides; without either, UTF-8
then GB18030. A body that does not decode in its *declared* encoding (e.g. GB2312 bytes declared
UTF-8) is refused — no guessing — with the byte offset.

The 2022 edition adds item fields (e.g. ``<StreamNumberList>``, ``<CustomName>``); unknown
child elements of an item are kept in ``extra`` and otherwise ignored.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.manscdp_ptz import PtzCommand

MAX_BODY_BYTES = 65_536
"""A MANSCDP body is one SIP MESSAGE; a Catalog page of a few dozen items is a few KiB."""

MAX_SN = 2**31 - 1

_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)[\"']")
_CODECS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
    "utf-8": "utf-8",
    "utf8": "utf-8",
}
_DEVICE_ID = re.compile(r"[0-9]{20}")
_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class ManscdpError(ValidationFailed):
    """A MANSCDP body that cannot be read; ``field`` names what failed (``encoding``, ``xml``,
    ``SN``, ``Item[2].DeviceID`` …)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(FieldError(field, reason, key="manscdp.invalid", params={"field": field}))
        self.field = field
        self.reason = reason


# --- decoding ------------------------------------------------------------------------------------


def decode_body(raw: bytes, content_type_charset: str | None) -> str:
    """The body as text, by the XML declaration's encoding, else the header charset, else UTF-8
    then GB18030. Refuses an oversized body, an unknown encoding, or undecodable bytes."""
    if len(raw) > MAX_BODY_BYTES:
        raise ManscdpError("body", f"is {len(raw)} bytes, over the limit of {MAX_BODY_BYTES}")
    declared = _DECLARATION.match(raw)
    if declared is not None:
        return _decode(raw, declared.group(1).decode("ascii"), "XML declaration")
    if content_type_charset:
        return _decode(raw, content_type_charset.strip().strip('"'), "Content-Type charset")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as error:
        raise ManscdpError(
            "encoding",
            f"no encoding declared and the body is neither UTF-8 nor GB18030 (byte {error.start})",
        ) from None


def _decode(raw: bytes, name: str, source: str) -> str:
    codec = _CODECS.get(name.lower())
    if codec is None:
        raise ManscdpError(
            "encoding", f"{source} names {name!r}; only GB2312, GBK, GB18030 and UTF-8 are read"
        )
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as error:
        raise ManscdpError(
            "encoding",
            f"body is not valid {name} as its {source} says "
            f"(byte {error.start}: {raw[error.start : error.start + 1].hex()})",
        ) from None


# --- messages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """What every MANSCDP message carries: root (``Query``/``Response``/``Notify``/``Control``),
    ``CmdType``, ``SN`` and ``DeviceID``."""

    root: str
    cmd_type: str
    sn: int
    device_id: str


@dataclass(frozen=True)
class Keepalive:
    header: Header
    status: str


@dataclass(frozen=True)
class Query:
    """A query (Catalog, DeviceInfo, DeviceStatus, RecordInfo …) addressed to ``device_id``."""

    header: Header


@dataclass(frozen=True)
class CatalogItem:
    """One ``<Item>`` of a Catalog response or change notification. Optional text fields are
    ``None`` when absent; ``event`` is set only in notifications (ADD, DEL, UPDATE, ON, OFF,
    VLOST, DEFECT)."""

    device_id: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    owner: str | None = None
    civil_code: str | None = None
    address: str | None = None
    parental: bool | None = None
    parent_id: str | None = None
    register_way: int | None = None
    secrecy: int | None = None
    status: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    event: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogResponse:
    """One part (MESSAGE) of a Catalog response: ``sum_num`` is the whole catalogue's size."""

    header: Header
    sum_num: int
    items: tuple[CatalogItem, ...]


@dataclass(frozen=True)
class CatalogNotify:
    """A catalogue change (Notify, CmdType Catalog); each item carries its ``event``."""

    header: Header
    sum_num: int
    items: tuple[CatalogItem, ...]


@dataclass(frozen=True)
class DeviceInfoResponse:
    header: Header
    result: str | None
    device_name: str | None
    manufacturer: str | None
    model: str | None
    firmware: str | None
    channels: int | None


@dataclass(frozen=True)
class DeviceStatusResponse:
    header: Header
    result: str | None
    online: str | None
    status: str | None
    encode: str | None
    record: str | None
    device_time: str | None


@dataclass(frozen=True)
class RecordItem:
    device_id: str
    name: str | None
    start_time: str | None
    end_time: str | None
    type: str | None


@dataclass(frozen=True)
class RecordInfoResponse:
    header: Header
    sum_num: int
    items: tuple[RecordItem, ...]


@dataclass(frozen=True)
class PtzControl:
    header: Header
    command: PtzCommand


@dataclass(frozen=True)
class OtherMessage:
    """A well-formed message of a kind not read here (answered, not crashed on)."""

    header: Header


Message = (
    Keepalive
    | Query
    | CatalogResponse
    | CatalogNotify
    | DeviceInfoResponse
    | DeviceStatusResponse
    | RecordInfoResponse
    | PtzControl
    | OtherMessage
)

# --- parsing -------------------------------------------------------------------------------------

_ROOTS = ("Query", "Response", "Notify", "Control")
_KNOWN_ITEM_FIELDS = {
    "DeviceID",
    "Name",
    "Manufacturer",
    "Model",
    "Owner",
    "CivilCode",
    "Address",
    "Parental",
    "ParentID",
    "RegisterWay",
    "Secrecy",
    "Status",
    "Longitude",
    "Latitude",
    "Event",
}


def parse(raw: bytes, content_type_charset: str | None = None) -> Message:
    """Decode and read one MANSCDP body. Raises :class:`ManscdpError`."""
    return parse_text(decode_body(raw, content_type_charset))


def parse_text(text: str) -> Message:
    root = _xml(text)
    header = _header(root)
    kind = (header.root, header.cmd_type)
    if kind == ("Notify", "Keepalive"):
        return Keepalive(header, _text(root, "Status") or "")
    if header.root == "Query":
        return Query(header)
    if kind in (("Response", "Catalog"), ("Notify", "Catalog")):
        sum_num = _int(root, "SumNum", 0, 1_000_000, required=True)
        items = tuple(
            _catalog_item(item, f"Item[{n}]") for n, item in enumerate(_items(root, "DeviceList"))
        )
        cls = CatalogResponse if header.root == "Response" else CatalogNotify
        return cls(header, sum_num or 0, items)
    if kind == ("Response", "DeviceInfo"):
        return DeviceInfoResponse(
            header,
            _text(root, "Result"),
            _text(root, "DeviceName"),
            _text(root, "Manufacturer"),
            _text(root, "Model"),
            _text(root, "Firmware"),
            _int(root, "Channel", 0, 100_000),
        )
    if kind == ("Response", "DeviceStatus"):
        return DeviceStatusResponse(
            header,
            _text(root, "Result"),
            _text(root, "Online"),
            _text(root, "Status"),
            _text(root, "Encode"),
            _text(root, "Record"),
            _text(root, "DeviceTime"),
        )
    if kind == ("Response", "RecordInfo"):
        return RecordInfoResponse(
            header,
            _int(root, "SumNum", 0, 1_000_000, required=True) or 0,
            tuple(
                _record_item(item, f"Item[{n}]")
                for n, item in enumerate(_items(root, "RecordList"))
            ),
        )
    if kind == ("Control", "DeviceControl") and root.find("PTZCmd") is not None:
        return PtzControl(header, PtzCommand.from_hex(_text(root, "PTZCmd") or "", "PTZCmd"))
    return OtherMessage(header)


def _xml(text: str) -> ET.Element:
    if len(text) > MAX_BODY_BYTES:  # a character is at least one byte in every encoding read
        raise ManscdpError("body", f"is over the limit of {MAX_BODY_BYTES} bytes")
    if _DTD.search(text):
        raise ManscdpError("xml", "a DTD or entity declaration is not allowed in MANSCDP")
    try:
        # S314: DTDs and entity declarations were refused above; nothing left to expand
        return ET.fromstring(text.strip().rstrip("\x00"))  # noqa: S314
    except ET.ParseError as error:
        raise ManscdpError("xml", f"not well-formed XML ({error})") from None


def _header(root: ET.Element) -> Header:
    if root.tag not in _ROOTS:
        raise ManscdpError("root", f"root element is <{root.tag}>; expected one of {_ROOTS}")
    cmd_type = _text(root, "CmdType")
    if not cmd_type:
        raise ManscdpError("CmdType", "is missing")
    sn = _int(root, "SN", 0, MAX_SN, required=True)
    device_id = device_id_of(_text(root, "DeviceID"), "DeviceID")
    return Header(root.tag, cmd_type, sn or 0, device_id)


def device_id_of(text: str | None, field: str) -> str:
    """A 20-digit GB/T 28181 ID, or :class:`ManscdpError` naming ``field``."""
    if not text:
        raise ManscdpError(field, "is missing")
    if not _DEVICE_ID.fullmatch(text):
        raise ManscdpError(field, f"must be 20 digits, got {len(text)} characters: {text[:40]!r}")
    return text


def _text(parent: ET.Element, tag: str) -> str | None:
    found = parent.find(tag)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None


def _int(
    parent: ET.Element, tag: str, low: int, high: int, *, required: bool = False, where: str = ""
) -> int | None:
    name = f"{where}.{tag}" if where else tag
    text = _text(parent, tag)
    if text is None:
        if required:
            raise ManscdpError(name, "is missing")
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise ManscdpError(name, f"must be a whole number {low}–{high}, got {text[:20]!r}")
    return int(text)


def _float(parent: ET.Element, tag: str, where: str, limit: float) -> float | None:
    text = _text(parent, tag)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ManscdpError(f"{where}.{tag}", f"must be a number, got {text[:20]!r}") from None
    if not -limit <= value <= limit:
        raise ManscdpError(f"{where}.{tag}", f"must be within ±{limit}, got {value}")
    return value


def _items(root: ET.Element, list_tag: str) -> list[ET.Element]:
    listing = root.find(list_tag)
    return [] if listing is None else listing.findall("Item")


def _catalog_item(item: ET.Element, where: str) -> CatalogItem:
    parental = _text(item, "Parental")
    if parental not in (None, "0", "1"):
        raise ManscdpError(f"{where}.Parental", f"must be 0 or 1, got {parental[:20]!r}")
    extra = {
        child.tag: (child.text or "").strip()
        for child in item
        if child.tag not in _KNOWN_ITEM_FIELDS and len(child) == 0
    }
    return CatalogItem(
        device_id=device_id_of(_text(item, "DeviceID"), f"{where}.DeviceID"),
        name=_text(item, "Name"),
        manufacturer=_text(item, "Manufacturer"),
        model=_text(item, "Model"),
        owner=_text(item, "Owner"),
        civil_code=_text(item, "CivilCode"),
        address=_text(item, "Address"),
        parental=None if parental is None else parental == "1",
        parent_id=_text(item, "ParentID"),
        register_way=_int(item, "RegisterWay", 0, 9, where=where),
        secrecy=_int(item, "Secrecy", 0, 9, where=where),
        status=_text(item, "Status"),
        longitude=_float(item, "Longitude", where, 180.0),
        latitude=_float(item, "Latitude", where, 90.0),
        event=_text(item, "Event"),
        extra=extra,
    )


def _record_item(item: ET.Element, where: str) -> RecordItem:
    return RecordItem(
        device_id=device_id_of(_text(item, "DeviceID"), f"{where}.DeviceID"),
        name=_text(item, "Name"),
        start_time=_text(item, "StartTime"),
        end_time=_text(item, "EndTime"),
        type=_text(item, "Type"),
    )
