"""A snapshot from the wall: one frame of a camera, taken away as a registered export.

A still of footage leaving the system is a copy like any export (Decree 799 art. 16(3)): it
needs the ``export`` permission and a stated purpose, and the register (登记) gets an ``export``
entry (who, which camera, the frame's moment, the JPEG's SHA-256 and name) and a ``download``
entry, since the JPEG leaves in the same answer. A copy is kept under the exports directory
(``snapshots/<name>.jpg``), as packages are, so the registered hash can be checked later.

The frame is the newest keyframe of the file the recorder is writing for the camera (found as
the live view finds it, :mod:`custos.services.live_tail`): the last complete fragment, or more
of the fragments before it (twice as many each time) when those hold no keyframe. A camera
whose newest file has not grown for :data:`~custos.services.live_tail.STALE_S` seconds has no
recent frame: refused with 409, never an old picture passed off as the latest. Only this
server's media directory is read (a camera recorded on another node of a cluster has no frame
here).
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custos.domain.register import Person, RegisterEntry, RegisterKind
from custos.domain.users import Principal
from custos.services.footage import PURPOSE_ARTICLE
from custos.services.live_tail import STALE_S, Box, fragments, mtime, newest_segments
from custos.services.ports import AccessUnitOfWorkFactory
from custos.services.reach import unit_in_reach
from custos.services.refusals import refusals_logged

MAX_FRAGMENTS = 512  # read back from the end looking for a keyframe (a file of one frame each)
SNAPSHOT_DIR = "snapshots"  # under the exports directory


class Grab(Protocol):
    """What the decoder gives back (:class:`custos.adapters.media.keyframe_jpeg.Grabbed`)."""

    @property
    def jpeg(self) -> bytes: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def behind_end_s(self) -> float: ...
    @property
    def frame_s(self) -> float: ...


class KeyframeJpeg(Protocol):
    def __call__(self, init: bytes, fragments: bytes) -> Grab | None: ...


@dataclass(frozen=True)
class Snapshot:
    camera_id: int
    jpeg: bytes
    sha256: str
    name: str  # relative to the exports directory
    frame_at: datetime  # about: the recorder's write time less the keyframe's lead
    register_entry_id: int  # the export entry in the register
    width: int
    height: int

    @property
    def filename(self) -> str:
        return f"snapshot-{self.camera_id}-{self.frame_at:%Y%m%dT%H%M%SZ}.jpg"


class SnapshotService:
    def __init__(
        self,
        uow: AccessUnitOfWorkFactory,
        clock: Clock,
        media_root: Path,
        exports_root: Path,
        decode: KeyframeJpeg,
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._media_root = media_root
        self._exports_root = exports_root
        self._decode = decode
        self._wall_time = wall_time  # file times are the machine's, whatever the clock says

    def take(self, actor: Principal, camera_id: int, purpose: str) -> Snapshot:
        actor.require(Permission.EXPORT)
        logged = refusals_logged(self._uow, self._clock, actor, "export.snapshot", "camera",
                                 camera_id, {"purpose": purpose})  # fmt: skip
        with logged:
            if not purpose.strip():
                rule_id, article = PURPOSE_ARTICLE
                raise ValidationFailed(
                    FieldError("purpose", "state the purpose of the snapshot", rule_id, article)
                )
            with self._uow() as uow:
                unit_id = unit_in_reach(uow, actor, camera_id)
            if unit_id is None:
                raise NotFound("camera", camera_id)
            grab, age_s = self._newest_keyframe(camera_id)
            return self._register(actor, camera_id, unit_id, purpose.strip(), grab, age_s)

    def _newest_keyframe(self, camera_id: int) -> tuple[Grab, float]:
        """The decoded keyframe and how long ago it was taken (seconds), or 409."""
        files = newest_segments(self._media_root, camera_id)
        now = self._wall_time()
        if files and now - mtime(files[-1]) < STALE_S:
            for path in reversed(files[-2:]):  # a file just begun has no fragment yet
                written = mtime(path)
                grab = newest_keyframe(path, self._decode)
                if grab is not None:
                    return grab, max(0.0, now - written) + grab.behind_end_s
        raise Conflict(
            "camera_id",
            f"no frame of camera {camera_id} recorded in the last {STALE_S:.0f} s",
            key="refusal.wall.no_recent_frame",
            params={"seconds": int(STALE_S)},
        )

    def _register(
        self,
        actor: Principal,
        camera_id: int,
        unit_id: int,
        purpose: str,
        grab: Grab,
        age_s: float,
    ) -> Snapshot:
        now = self._clock.now()
        frame_at = now - timedelta(seconds=age_s)
        sha = hashlib.sha256(grab.jpeg).hexdigest()
        name = (
            f"{SNAPSHOT_DIR}/{now:%Y%m%dT%H%M%S}-snapshot-c{camera_id}-u{actor.user_id or 0}"
            f"-{sha[:12]}.jpg"
        )
        _write(self._exports_root / name, grab.jpeg)
        me = Person(actor.full_name or actor.username, actor.role.value if actor.role else "system")
        with self._uow() as uow:
            entries = [
                uow.register.add(
                    RegisterEntry(
                        id=None,
                        at=now,
                        kind=kind,
                        unit_id=unit_id,
                        user_id=actor.user_id,
                        persons=(me,),
                        organ="",
                        purpose=purpose,
                        camera_ids=(camera_id,),
                        start=frame_at,
                        end=frame_at + timedelta(seconds=grab.frame_s),
                        output_sha256=sha,
                        output_name=name,
                    )
                )
                for kind in (RegisterKind.EXPORT, RegisterKind.DOWNLOAD)
            ]
            entry_id = entries[0].id or 0
            uow.audit.append(
                AuditEvent(
                    now,
                    actor.username,
                    "export.snapshot",
                    "camera",
                    str(camera_id),
                    detail={
                        "purpose": purpose,
                        "sha256": sha,
                        "name": name,
                        "frame_at": frame_at.isoformat(),
                        "register_entry_id": entry_id,
                        "size": [grab.width, grab.height],
                    },
                )
            )
            uow.commit()
        return Snapshot(
            camera_id, grab.jpeg, sha, name, frame_at, entry_id, grab.width, grab.height
        )


def newest_keyframe(path: Path, decode: KeyframeJpeg) -> Grab | None:
    """The newest keyframe of one fMP4 file, reading its box headers, its init boxes and its
    last fragments only (a segment being written can be hundreds of megabytes)."""
    try:
        with path.open("rb") as f:
            boxes = _box_headers(f, os.fstat(f.fileno()).st_size)
            moov = next((b for b in boxes if b.kind == b"moov"), None)
            pairs = fragments(boxes)
            if moov is None or not pairs:
                return None
            f.seek(0)
            init, end = f.read(moov.end), pairs[-1][1]
            count = 1  # the last fragment, then twice as many back, until a keyframe
            while True:
                start = pairs[-min(count, len(pairs))][0]
                f.seek(start)
                grab = decode(init, f.read(end - start))
                if grab is not None or count >= min(len(pairs), MAX_FRAGMENTS):
                    return grab
                count *= 2
    except FileNotFoundError:  # sealed away or removed meanwhile
        return None
    return None


def _box_headers(f: BinaryIO, size: int) -> list[Box]:
    """The top-level boxes wholly inside the first ``size`` bytes, from their headers alone."""
    boxes: list[Box] = []
    pos = 0
    while pos + 8 <= size:
        f.seek(pos)
        head = f.read(16)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head[:8])
        if length == 1:
            if len(head) < 16:
                break
            length = struct.unpack(">Q", head[8:16])[0]
        if length < 8 or pos + length > size:
            break  # size 0 ("to end of file") or not written yet
        boxes.append(Box(kind, pos, length))
        pos += length
    return boxes


def _write(path: Path, data: bytes) -> None:
    """Written whole or not at all: a half JPEG never sits under a registered name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    os.replace(part, path)
