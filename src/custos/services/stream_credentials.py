"""Sealing stream credentials that an earlier version stored in clear (issue 11 §5).

Before issue 11 only the userinfo of a stream URL was sealed: a password in the query
(``?user=…&password=…``) stayed in the stored URL, the API's answers and the operation log.
Reading such a row already splits the password off (``StreamUrl.stored``); this rewrites the
rows so the database file no longer holds it either. Entries already in the operation log
cannot be rewritten (the log is append-only and hash-chained): those cameras' passwords are
to be treated as disclosed and changed on the camera (docs/design/registry.md).
"""

from __future__ import annotations

from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.users import SYSTEM
from custos.services.ports import UnitOfWorkFactory


def seal_clear_stream_credentials(uow: UnitOfWorkFactory, clock: Clock) -> list[int]:
    """Seal every stream credential still stored in clear; the cameras whose were, in order."""
    with uow() as u:
        ids = u.cameras.with_clear_credentials()
        for camera_id in ids:
            camera = u.cameras.get(camera_id)
            if camera is not None:
                u.cameras.update(camera)  # written back with the credentials sealed
        if ids:
            u.audit.append(
                AuditEvent(
                    clock.now(),
                    SYSTEM.username,
                    "camera.credentials_sealed",
                    "camera",
                    None,
                    detail={
                        "cameras": ids,
                        "note": "stored in clear by an earlier version; change these passwords",
                    },
                )
            )
        u.commit()
    return ids
