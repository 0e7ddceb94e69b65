"""WS-Discovery on one interface, with the kept ``wsdiscovery`` library.

``ThreadedWSDiscovery`` joins the multicast group on every address the machine has and watches
for new ones; :class:`_OneInterface` keeps it to the address asked for, so a probe goes out of
(and answers come back to) that interface only.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import ifaddr
from wsdiscovery.discovery import ThreadedWSDiscovery  # type: ignore[import-untyped]

from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.onvif import DiscoveredDevice

log = logging.getLogger(__name__)


class _OneInterface(ThreadedWSDiscovery):  # type: ignore[misc]
    """Joins the group and sends only on the one address given (loopback included, which the
    library's own address watch leaves out)."""

    def _networkAddressAdded(self, addr: Any) -> None:  # noqa: N802 (the library's name)
        pass  # the address watch offers every interface: we take none of them

    def use(self, address: str) -> None:
        self.addSourceAddr(ipaddress.ip_address(address))


def local_address(interface: str | None, address: str | None) -> str:
    """The IPv4 address to probe from: ``address`` if it is this machine's, else the first IPv4
    address of ``interface``."""
    adapters = ifaddr.get_adapters()
    ours = {str(ip.ip): a.nice_name for a in adapters for ip in a.ips if isinstance(ip.ip, str)}
    if address:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise ValidationFailed(
                FieldError("address", "must be an IPv4 address", key="onvif.address_not_ipv4")
            ) from None
        if address not in ours:
            raise ValidationFailed(
                FieldError(
                    "address",
                    f"{address} is not an address of this machine",
                    key="onvif.address_not_local",
                    params={"address": address},
                )
            )
        return address
    if not interface:
        raise ValidationFailed(
            FieldError("interface", "give an interface or an address", key="onvif.where")
        )
    for a in adapters:
        if interface in (a.name, a.nice_name):
            for ip in a.ips:
                if isinstance(ip.ip, str):
                    return str(ip.ip)
            raise ValidationFailed(
                FieldError(
                    "interface",
                    f"{interface} has no IPv4 address",
                    key="onvif.no_ipv4",
                    params={"interface": interface},
                )
            )
    known = ", ".join(sorted({a.nice_name for a in adapters}))
    raise ValidationFailed(
        FieldError(
            "interface",
            f"no interface {interface} (have: {known})",
            key="onvif.no_interface",
            params={"interface": interface, "known": known},
        )
    )


def probe(address: str, timeout_s: float) -> list[DiscoveredDevice]:
    """Probe for ONVIF devices from the interface that has ``address``; wait ``timeout_s``."""
    wsd = _OneInterface()
    try:
        wsd.start()
        wsd.use(address)
        found = wsd.searchServices(timeout=timeout_s)
    except OSError as exc:
        raise ValidationFailed(
            FieldError("address", f"discovery failed: {exc.strerror}", key="onvif.discovery_failed")
        ) from None
    finally:
        wsd.stop()
    devices: dict[str, DiscoveredDevice] = {}
    for service in found:
        xaddrs = tuple(str(x) for x in service.getXAddrs())
        if not xaddrs:
            continue
        endpoint = str(service.getEPR())
        scopes = tuple(str(s.getValue()) for s in service.getScopes())
        devices[endpoint] = DiscoveredDevice(endpoint, xaddrs, scopes)
    log.info("WS-Discovery from %s found %d device(s)", address, len(devices))
    return sorted(devices.values(), key=lambda d: d.endpoint)
