"""ONVIF: WS-Discovery (``wsdiscovery``) and the device services (``onvif-zeep-async``)."""

from custos.adapters.onvif.client import ZeepOnvifClient

__all__ = ["ZeepOnvifClient"]
