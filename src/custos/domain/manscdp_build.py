"""Building MANSCDP bodies (GB/T 28181-2016 annex A) as bytes with their XML declaration.

GB2312 is the default encoding, as most devices and platforms expect; UTF-8 (2022 edition) and
GB18030 on request. A text that GB2312 cannot carry (a rare character in a camera name) is
refused with :class:`~custos.domain.manscdp.ManscdpError` naming the field: choose GB18030 or
UTF-8 for it rather than send mojibake.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Literal

from custos.domain.manscdp import CatalogItem, ManscdpError, device_id_of
from custos.domain.manscdp_ptz import PtzCommand

Encoding = Literal["GB2312", "GB18030", "UTF-8"]

DEFAULT_PAGE_SIZE = 4
"""Items per Catalog MESSAGE, as many platforms send. An item with every field is ~350 bytes, so
a 4-item part is ~1.5 KB (bench/manscdp_codec.py): over one Ethernet frame on UDP, so IP
fragments it; pass ``page_size=2`` where a path drops fragments."""


def build_query(
    cmd_type: Literal["Catalog", "DeviceInfo", "DeviceStatus"],
    sn: int,
    device_id: str,
    encoding: Encoding = "GB2312",
) -> bytes:
    """A ``<Query>`` for ``cmd_type`` addressed to ``device_id``."""
    root = _root("Query", cmd_type, sn, device_id)
    return _serialise(root, encoding)


def build_keepalive(sn: int, device_id: str, encoding: Encoding = "GB2312") -> bytes:
    root = _root("Notify", "Keepalive", sn, device_id)
    _child(root, "Status", "OK")
    return _serialise(root, encoding)


def build_ptz_control(
    sn: int, device_id: str, command: PtzCommand, encoding: Encoding = "GB2312"
) -> bytes:
    """``<Control>`` DeviceControl with ``<PTZCmd>`` (the 8-byte command in hex)."""
    root = _root("Control", "DeviceControl", sn, device_id)
    _child(root, "PTZCmd", command.to_hex())
    info = _child(root, "Info")
    _child(info, "ControlPriority", "5")
    return _serialise(root, encoding)


def build_catalog_responses(
    sn: int,
    device_id: str,
    items: Sequence[CatalogItem],
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    encoding: Encoding = "GB2312",
) -> list[bytes]:
    """The Catalog response for ``items`` split into MESSAGE bodies of at most ``page_size``
    items, each with ``SumNum`` = ``len(items)`` and the same ``SN``. No items: one body with
    ``SumNum`` 0 and an empty ``DeviceList``."""
    if not 1 <= page_size <= 100:
        raise ManscdpError("page_size", f"must be 1–100, got {page_size}")
    pages = [items[start : start + page_size] for start in range(0, len(items), page_size)]
    bodies = []
    for page_number, page in enumerate(pages or [[]]):
        root = _root("Response", "Catalog", sn, device_id)
        _child(root, "SumNum", str(len(items)))
        listing = _child(root, "DeviceList")
        listing.set("Num", str(len(page)))
        for number, item in enumerate(page):
            _catalog_item(listing, item, f"Item[{page_number * page_size + number}]")
        bodies.append(_serialise(root, encoding))
    return bodies


def _catalog_item(listing: ET.Element, item: CatalogItem, where: str) -> None:
    element = _child(listing, "Item")
    _child(element, "DeviceID", device_id_of(item.device_id, f"{where}.DeviceID"))
    optional: tuple[tuple[str, object], ...] = (
        ("Name", item.name),
        ("Manufacturer", item.manufacturer),
        ("Model", item.model),
        ("Owner", item.owner),
        ("CivilCode", item.civil_code),
        ("Address", item.address),
        ("Parental", None if item.parental is None else int(item.parental)),
        ("ParentID", item.parent_id),
        ("RegisterWay", item.register_way),
        ("Secrecy", item.secrecy),
        ("Status", item.status),
        ("Longitude", item.longitude),
        ("Latitude", item.latitude),
        ("Event", item.event),
    )
    for tag, value in optional:
        if value is not None:
            _child(element, tag, str(value))


def _root(root_tag: str, cmd_type: str, sn: int, device_id: str) -> ET.Element:
    if not 0 <= sn <= 2**31 - 1:
        raise ManscdpError("SN", f"must be 0–{2**31 - 1}, got {sn}")
    root = ET.Element(root_tag)
    _child(root, "CmdType", cmd_type)
    _child(root, "SN", str(sn))
    _child(root, "DeviceID", device_id_of(device_id, "DeviceID"))
    return root


def _child(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _serialise(root: ET.Element, encoding: Encoding) -> bytes:
    ET.indent(root, space="")
    body = f'<?xml version="1.0" encoding="{encoding}"?>\n' + ET.tostring(root, encoding="unicode")
    try:
        return (body + "\n").encode(encoding.lower())
    except UnicodeEncodeError as error:
        character = error.object[error.start : error.end]
        raise ManscdpError(
            "encoding",
            f"{character!r} cannot be written in {encoding}; use GB18030 or UTF-8",
        ) from None
