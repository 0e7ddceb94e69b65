"""Which SeaweedFS volume server holds which volume, from the master's ``GET /vol/status``.

The answer (SeaweedFS 4.48)::

    {"Volumes": {"DataCenters": {"<dc>": {"<rack>": {"<ip:port>": [
        {"Id": 3, "Collection": "custos-segments", "ReplicaPlacement": {"node": 1},
         "FileCount": 12, "DeleteCount": 0, "Size": 5242880, "DeletedByteCount": 0, ...}, ...]}}}}}

``ReplicaPlacement`` names only the digits that are not zero: ``dc`` (X), ``rack`` (Y),
``node`` (Z). A server the master no longer hears from (dead, or cut off) is not in the answer at
all, so its volumes show one copy fewer: that is what under-replication looks like here.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from custos.services.object_replication import TopologyUnavailableError, VolumeCopy

_MAX_ANSWER = 64 << 20  # a master with a very large topology still answers well below this
_MAX_COUNT = 1 << 62
_HEADER = 8  # a volume file's super block, there before any file is written


class MasterTopology:
    """The volume topology of one SeaweedFS master (``http://host:port``)."""

    def __init__(self, master_url: str, timeout_s: float = 5.0) -> None:
        self.where = master_url.rstrip("/")
        self._timeout_s = timeout_s
        # the master is on the store's private network: never through an HTTP proxy
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def copies(self) -> list[VolumeCopy]:
        try:
            with self._opener.open(f"{self.where}/vol/status", timeout=self._timeout_s) as r:
                body = r.read(_MAX_ANSWER + 1)
        except (urllib.error.URLError, OSError) as exc:
            raise TopologyUnavailableError(
                f"the SeaweedFS master {self.where} did not answer: {exc}"
            ) from None
        if len(body) > _MAX_ANSWER:
            raise TopologyUnavailableError(f"the SeaweedFS master {self.where} answered too much")
        try:
            return parse_vol_status(json.loads(body))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise TopologyUnavailableError(
                f"the SeaweedFS master {self.where} gave an answer we cannot read: {exc}"
            ) from None


def parse_vol_status(answer: Any) -> list[VolumeCopy]:
    """The copies in a ``/vol/status`` answer (ValueError/TypeError/KeyError when malformed)."""
    out: list[VolumeCopy] = []
    centres = answer["Volumes"].get("DataCenters") or {}
    for racks in centres.values():
        for servers in (racks or {}).values():
            for server, volumes in (servers or {}).items():
                for v in volumes or []:
                    out.append(_copy(str(server), v))
    return out


def _copy(server: str, v: dict[str, Any]) -> VolumeCopy:
    placement = v.get("ReplicaPlacement") or {}
    digits = "".join(str(_count(placement.get(k, 0), 9)) for k in ("dc", "rack", "node"))
    return VolumeCopy(
        volume_id=_count(v["Id"], 0xFFFFFFFF),
        collection=str(v.get("Collection") or ""),
        server=server,
        replication=digits,
        files=max(0, _count(v.get("FileCount", 0)) - _count(v.get("DeleteCount", 0))),
        bytes=max(0, _count(v.get("Size", 0)) - _count(v.get("DeletedByteCount", 0)) - _HEADER),
    )


def _count(value: object, most: int = _MAX_COUNT) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= most:
        raise ValueError(f"not a count in 0..{most}: {value!r}")
    return value
