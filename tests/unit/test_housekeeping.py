"""The housekeeper signs a checkpoint once its time has come, even with no new writes."""

from __future__ import annotations

from datetime import timedelta

from custos.bootstrap import Container
from custos.domain.audit import AuditEvent
from custos.domain.clock import ManualClock
from custos.entrypoints.workers.housekeeper import Housekeeper


def test_a_quiet_log_is_signed_when_the_checkpoint_interval_passes(container: Container) -> None:
    clock = container.clock
    assert isinstance(clock, ManualClock)
    with container.uow() as uow:
        uow.audit.append(AuditEvent(clock.now(), "t", "test.first", "x", "1"))
        uow.commit()  # the very first entry is signed at once
    with container.uow() as uow:
        uow.audit.append(AuditEvent(clock.now(), "t", "test.second", "x", "2"))
        uow.commit()
        signed_before = uow.audit.latest_checkpoint()
    assert signed_before is not None and signed_before.tree_size == 1
    keeper = Housekeeper(container)
    keeper.tick()
    with container.uow() as uow:
        cp = uow.audit.latest_checkpoint()
    assert cp is not None and cp.tree_size == 1  # not due yet
    clock.advance(timedelta(seconds=container.settings.audit_checkpoint_seconds + 1))
    keeper.tick()
    with container.uow() as uow:
        cp = uow.audit.latest_checkpoint()
    assert cp is not None and cp.tree_size == 2
