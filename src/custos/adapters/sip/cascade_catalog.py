"""What Custos says about itself and its cameras to an upper platform (issue 12 §2): its
identity as the lower platform, the Catalog response pages (shared cameras only) and the
DeviceInfo response, as MANSCDP bodies for the cascade link (``cascade_link.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from custos.domain.manscdp import CatalogItem, ManscdpError
from custos.domain.manscdp_build import build_catalog_responses
from custos.services.gb_cascade import CatalogEntry


@dataclass(frozen=True)
class LocalIdentity:
    """Custos as the lower platform: its 20-digit ID, its domain, what DeviceInfo says."""

    sip_id: str
    domain: str
    name: str = "Custos"
    manufacturer: str = "Custos"
    model: str = "Custos VMS"
    firmware: str = "1"


def catalog_pages(my_id: str, sn: int, entries: list[CatalogEntry]) -> list[bytes]:
    """The Catalog response as MESSAGE bodies (G2's builder: pages with SumNum), in GB2312, or
    GB18030 when a name needs a character GB2312 lacks."""
    items = [
        CatalogItem(
            device_id=e.device_id, name=e.name, manufacturer=e.manufacturer, model=e.model,
            owner="0", civil_code=e.device_id[:6], address=e.address, parental=False,
            register_way=1, secrecy=0, status="ON" if e.online else "OFF",
        )
        for e in entries
    ]  # fmt: skip
    try:
        return build_catalog_responses(sn, my_id, items)
    except ManscdpError:
        return build_catalog_responses(sn, my_id, items, encoding="GB18030")


def device_info(me: LocalIdentity, sn: int) -> str:
    return (
        f'<?xml version="1.0" encoding="GB2312"?>\r\n<Response>\r\n'
        f"<CmdType>DeviceInfo</CmdType>\r\n<SN>{sn}</SN>\r\n<DeviceID>{me.sip_id}</DeviceID>\r\n"
        f"<Result>OK</Result>\r\n<DeviceName>{escape(me.name)}</DeviceName>\r\n"
        f"<Manufacturer>{escape(me.manufacturer)}</Manufacturer>\r\n"
        f"<Model>{escape(me.model)}</Model>\r\n<Firmware>{escape(me.firmware)}</Firmware>\r\n"
        f"</Response>\r\n"
    )


def encode_gb2312(body: str) -> bytes:
    """GB2312 as declared; a name GB2312 cannot carry is sent in UTF-8, declared so."""
    try:
        return body.encode("gb2312")
    except UnicodeEncodeError:
        return body.replace('encoding="GB2312"', 'encoding="UTF-8"', 1).encode("utf-8")
