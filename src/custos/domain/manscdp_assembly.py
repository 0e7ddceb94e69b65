"""Assembling a Catalog response that arrives in several MESSAGEs.

A device answers one Catalog query (one ``SN``) with as many MESSAGEs as it needs, each
carrying ``SumNum`` (the whole catalogue's size) and some items. Parts may arrive out of order or
twice (UDP retransmission, even after the catalogue completed: such a late copy is ignored
for ``timeout``). The assembler keys parts by (device, SN), keeps items by their
``DeviceID`` (a duplicate replaces, never counts twice), and hands back the whole catalogue once
it holds ``SumNum`` distinct items. A catalogue still incomplete ``timeout`` after its first part
is given up by :meth:`CatalogAssembler.expire`, which says what was missing. Time comes in as
arguments: the domain reads no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from custos.domain.manscdp import CatalogItem, CatalogResponse

DEFAULT_TIMEOUT = timedelta(seconds=30)
MAX_PENDING = 10_000
"""Catalogues being assembled at once; beyond it the oldest is dropped (a flood of SNs)."""


@dataclass(frozen=True)
class AssembledCatalog:
    device_id: str
    sn: int
    sum_num: int
    items: tuple[CatalogItem, ...]


@dataclass(frozen=True)
class IncompleteCatalog:
    device_id: str
    sn: int
    sum_num: int
    received: int


@dataclass
class _Pending:
    started: datetime
    sum_num: int
    items: dict[str, CatalogItem] = field(default_factory=dict)


@dataclass
class CatalogAssembler:
    timeout: timedelta = DEFAULT_TIMEOUT
    _pending: dict[tuple[str, int], _Pending] = field(default_factory=dict)
    _done: dict[tuple[str, int], datetime] = field(default_factory=dict)

    def add(self, part: CatalogResponse, now: datetime) -> AssembledCatalog | None:
        """Take one part; the whole catalogue when this part completes it, else ``None``."""
        key = (part.header.device_id, part.header.sn)
        if key in self._done:
            return None  # a retransmission of a part of a catalogue already complete
        pending = self._pending.get(key)
        if pending is None:
            if len(self._pending) >= MAX_PENDING:
                oldest = min(self._pending, key=lambda k: self._pending[k].started)
                del self._pending[oldest]
            pending = self._pending[key] = _Pending(now, part.sum_num)
        pending.sum_num = max(pending.sum_num, part.sum_num)
        for item in part.items:
            pending.items[item.device_id] = item
        if len(pending.items) < pending.sum_num:
            return None
        del self._pending[key]
        if len(self._done) >= MAX_PENDING:
            del self._done[min(self._done, key=self._done.__getitem__)]
        self._done[key] = now
        return AssembledCatalog(key[0], key[1], pending.sum_num, tuple(pending.items.values()))

    def expire(self, now: datetime) -> list[IncompleteCatalog]:
        """Give up the catalogues older than ``timeout``; what each lacked."""
        for key in [k for k, at in self._done.items() if now - at >= self.timeout]:
            del self._done[key]
        stale = [k for k, p in self._pending.items() if now - p.started >= self.timeout]
        given_up = []
        for key in stale:
            pending = self._pending.pop(key)
            given_up.append(IncompleteCatalog(key[0], key[1], pending.sum_num, len(pending.items)))
        return given_up

    @property
    def pending(self) -> int:
        return len(self._pending)
