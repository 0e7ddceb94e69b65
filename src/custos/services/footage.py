"""Seeing footage and taking it away, always through a registered session or package.

- Live view (值班监看) opens a registered session: who, which cameras, from when to when.
- Staff playback and export need a stated purpose (Decree 799 art. 16(3)) and register it.
- An authority's approved request, executed, opens a view session or builds a package bounded by
  the request's scope (see :mod:`custos.services.access_requests`).
- Every segment list and media read goes through a session and is refused one second outside it.
"""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, Protocol

from custos.domain.access import Permission
from custos.domain.access_requests import AccessRequest, FootageScope, check_scope
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, FieldError, NotFound, RuleRefusal, ValidationFailed
from custos.domain.evidence import CUSTODY
from custos.domain.footage_access import ExportPackage, PlaybackSession, SessionKind
from custos.domain.kinds import AccessAction
from custos.domain.recording import Segment
from custos.domain.register import Person, RegisterEntry, RegisterKind, RegisterQuery
from custos.domain.rules.citation import Citation
from custos.domain.rules.engine import RuleBook
from custos.domain.users import SYSTEM, Principal
from custos.domain.visibility import reaches_site
from custos.services.evidence import EvidenceBuilder, PackageOrder
from custos.services.ports import AccessUnitOfWork, AccessUnitOfWorkFactory
from custos.services.reach import unit_in_reach
from custos.services.refusals import refusals_logged
from custos.services.shared_copies import SharedCopies, local_or_shared

PLAYBACK_SESSION_TTL = timedelta(hours=4)
LIVE_SESSION_TTL = timedelta(hours=12)  # one duty shift; a longer watch opens a new session
PURPOSE_ARTICLE = ("national-2025:art16.p2.i3", "Decree 799 art. 16 para 2 item 3")
MAX_CUSTODY_BYTES = 64 << 20  # a sheet lists every source in small print; never read more


@dataclass(frozen=True)
class ExportEstimate:
    """What an export of cameras × range would hold, before it is built."""

    bytes: int  # the segments' bytes, a segment the range cuts counted by its share of time
    segment_count: int


class SegmentFetch(Protocol):
    """A verified local copy of a segment whose file is gone (from the object store), or None."""

    def __call__(self, seg: Segment) -> Path | None: ...


@dataclass(frozen=True)
class Outcome:
    """What executing a grant produced: a session to view through, or a package."""

    kind: str  # "session" or "export"
    session_id: int | None = None
    export_id: int | None = None
    sha256: str | None = None
    expires_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "session_id": self.session_id,
            "export_id": self.export_id,
            "sha256": self.sha256,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


class FootageService:
    def __init__(
        self,
        uow: AccessUnitOfWorkFactory,
        clock: Clock,
        segment_file: Callable[[str], Path],
        exports_root: Path,
        evidence: EvidenceBuilder,
        fetch: SegmentFetch | None = None,
        rules: RuleBook | None = None,
        shared_exports: SharedCopies | None = None,
        withheld: Callable[[AccessUnitOfWork, int], Conflict | None] | None = None,
    ) -> None:
        # why a request's package is not handed out (a request for publication), or None
        self._withheld = withheld
        self._shared_exports = shared_exports  # packages every server can download
        self._uow = uow
        self._rules = rules  # cites the scope articles when a grant session is overstepped
        self._clock = clock
        self._segment_file = segment_file  # an indexed path → its file, on whichever volume
        self._exports_root = exports_root
        self._evidence = evidence
        self._fetch = fetch

    # ---- live view ----------------------------------------------------------------------
    def open_live(self, actor: Principal, camera_ids: Sequence[int]) -> PlaybackSession:
        actor.require(Permission.LIVE_VIEW)
        now = self._clock.now()
        with self._logged(actor, "live.open", None), self._uow() as uow:
            ids = self._check_cameras(uow, actor, camera_ids)
            scope = FootageScope(ids, now, now + LIVE_SESSION_TTL)
            session = self._start_session(
                uow,
                actor,
                SessionKind.LIVE,
                scope,
                "on-duty monitoring (值班监看)",
                scope.end,
                RegisterKind.LIVE_VIEW,
            )
            uow.commit()
        return session

    def close_live(self, actor: Principal, session_id: int) -> PlaybackSession:
        actor.require(Permission.LIVE_VIEW)
        now = self._clock.now()
        with self._logged(actor, "live.close", session_id), self._uow() as uow:
            s = self._session(uow, actor, session_id)
            if s.kind is not SessionKind.LIVE:
                raise ValidationFailed(FieldError("session_id", "not a live-view session"))
            uow.playback_sessions.close(session_id, now)
            uow.register.end_session(session_id, now)
            uow.audit.append(AuditEvent(now, actor.username, "live.close", "session", str(s.id)))
            uow.commit()
            s.closed_at = now
        return s

    def end_session(self, actor: Principal, session_id: int) -> PlaybackSession:
        """The holder left the page: the session closes and its register entries get their end
        time (the earlier of now and the session's expiry). Ending an ended session changes
        nothing, so the page may ask more than once."""
        actor.require(Permission.FOOTAGE_SESSION)
        now = self._clock.now()
        with self._uow() as uow:
            s = uow.playback_sessions.get(session_id)
            if s is None or s.user_id != actor.user_id:
                raise NotFound("session", session_id)
            if s.closed_at is not None:
                return s
            at = min(now, s.expires_at)
            uow.playback_sessions.close(session_id, at)
            uow.register.end_session(session_id, at)
            detail = {"kind": s.kind.value, "ended_at": at.isoformat()}
            uow.audit.append(
                AuditEvent(now, actor.username, "session.end", "session", str(s.id), detail=detail)
            )
            uow.commit()
            s.closed_at = at
        return s

    # ---- staff playback and export --------------------------------------------------------
    def open_playback(
        self,
        actor: Principal,
        camera_ids: Sequence[int],
        start: datetime,
        end: datetime,
        purpose: str,
    ) -> PlaybackSession:
        actor.require(Permission.PLAYBACK)
        now = self._clock.now()
        with self._logged(actor, "playback.open", None), self._uow() as uow:
            scope = self._staff_scope(uow, actor, camera_ids, start, end, purpose)
            session = self._start_session(
                uow,
                actor,
                SessionKind.PLAYBACK,
                scope,
                purpose,
                now + PLAYBACK_SESSION_TTL,
                RegisterKind.PLAYBACK,
            )
            uow.commit()
        return session

    def export(
        self,
        actor: Principal,
        camera_ids: Sequence[int],
        start: datetime,
        end: datetime,
        purpose: str,
        language: str | None = None,
    ) -> ExportPackage:
        """``language``: the custody sheet's ("zh", or "en" for Chinese with English)."""
        actor.require(Permission.EXPORT)
        with self._logged(actor, "export.create", None), self._uow() as uow:
            scope = self._staff_scope(uow, actor, camera_ids, start, end, purpose)
            package = self._package(
                uow, actor, scope, purpose, None, RegisterKind.EXPORT, (), language
            )
            uow.commit()
        return package

    def download(self, actor: Principal, export_id: int) -> tuple[ExportPackage, Path]:
        """The package's file; the download itself is registered with the file's hash."""
        actor.require(Permission.FOOTAGE_SESSION)
        with self._logged(actor, "export.download", export_id), self._uow() as uow:
            package = uow.exports.get(export_id)
            if package is None or package.user_id != actor.user_id:
                raise NotFound("export", export_id)
            if package.request_id is not None and self._withheld is not None:
                refusal = self._withheld(uow, package.request_id)
                if refusal is not None:
                    raise refusal
            path = self._package_file(package)
            if not path.exists():  # made on a server whose copy never reached the object store
                raise NotFound("file of export", export_id)
            for e in self._entries(
                uow,
                actor,
                RegisterKind.DOWNLOAD,
                package.scope,
                package.purpose,
                request_id=package.request_id,
                output=(package.sha256, package.path),
            ):
                uow.register.add(e)
            uow.audit.append(
                AuditEvent(
                    self._clock.now(),
                    actor.username,
                    "export.download",
                    "export",
                    str(export_id),
                    detail={"sha256": package.sha256},
                )
            )
            uow.commit()
        return package, path

    def _package_file(self, package: ExportPackage) -> Path:
        """The package's ZIP here, fetched from the object store if another server made it."""
        return local_or_shared(
            self._exports_root, package.path, package.sha256, self._shared_exports
        )

    def estimate_export(
        self, actor: Principal, camera_ids: Sequence[int], start: datetime, end: datetime
    ) -> ExportEstimate:
        """The size an export of cameras × [start, end) would have (nothing is registered)."""
        actor.require(Permission.EXPORT)
        with self._logged(actor, "export.estimate", None), self._uow() as uow:
            errors = check_scope(FootageScope(tuple(camera_ids), start, end))
            if errors:
                raise ValidationFailed(errors)
            size, count = 0.0, 0
            for cid in self._check_cameras(uow, actor, camera_ids):
                for seg in uow.segments.find(cid, start, end):
                    span = (seg.end_at - seg.start_at).total_seconds()
                    inside = (min(end, seg.end_at) - max(start, seg.start_at)).total_seconds()
                    if inside <= 0:
                        continue
                    size += seg.bytes * (min(1.0, inside / span) if span > 0 else 1.0)
                    count += 1
        return ExportEstimate(round(size), count)

    def custody_sheet(self, actor: Principal, export_id: int) -> bytes:
        """The chain-of-custody sheet (``custody.pdf``) inside a package one made. No footage
        leaves with it, so it is not a download in the register; reading it is logged."""
        actor.require(Permission.FOOTAGE_SESSION)
        with self._logged(actor, "export.custody", export_id), self._uow() as uow:
            package = uow.exports.get(export_id)
            if package is None or package.user_id != actor.user_id:
                raise NotFound("export", export_id)
            try:
                with zipfile.ZipFile(self._package_file(package)) as z:
                    info = z.getinfo(CUSTODY)
                    if info.file_size > MAX_CUSTODY_BYTES:
                        raise KeyError(CUSTODY)
                    sheet = z.read(info)
            except (KeyError, OSError, zipfile.BadZipFile):
                raise NotFound("custody sheet of export", export_id) from None
            uow.audit.append(
                AuditEvent(
                    self._clock.now(),
                    actor.username,
                    "export.custody",
                    "export",
                    str(export_id),
                    detail={"sha256": package.sha256},
                )
            )
            uow.commit()
        return sheet

    # ---- reading through a session ------------------------------------------------------------
    def session_segments(
        self, actor: Principal, session_id: int, camera_id: int, start: datetime, end: datetime
    ) -> list[Segment]:
        """Segments of one camera overlapping [start, end), which must lie inside the session."""
        actor.require(Permission.FOOTAGE_SESSION)
        with self._logged(actor, "session.read", session_id), self._uow() as uow:
            s = self._session(uow, actor, session_id)
            self._check_inside(uow, s, camera_id, start, end)
            return uow.segments.find(camera_id, start, end)

    def segment_media(
        self, actor: Principal, session_id: int, segment_id: int
    ) -> tuple[Segment, Path, float | None, float | None]:
        """A segment's file and, when the session's range cuts it, the cut (seconds into it)."""
        actor.require(Permission.FOOTAGE_SESSION)
        with self._logged(actor, "session.media", session_id), self._uow() as uow:
            s = self._session(uow, actor, session_id)
            seg = uow.segments.get(segment_id)
            if seg is None or not s.scope.overlaps(seg.camera_id, seg.start_at, seg.end_at):
                self._refuse_outside(
                    uow,
                    s,
                    [FieldError("segment_id", "that segment lies outside your session's scope")],
                )
        cut_from, cut_to = _cut(seg, s.scope)
        return seg, self._source(seg), cut_from, cut_to

    # ---- authorities ---------------------------------------------------------------------------
    def execute_grant(
        self,
        uow: AccessUnitOfWork,
        actor: Principal,
        req: AccessRequest,
        language: str | None = None,
    ) -> Outcome:
        """Within the request's own transaction: open the view session or build the package."""
        handlers = tuple(Person(h.name, "handler", h.credentials_text()) for h in req.handlers)
        if req.action is AccessAction.VIEW:
            s = self._start_session(
                uow,
                actor,
                SessionKind.GRANT,
                req.scope,
                req.purpose,
                req.expires_at,
                RegisterKind.VIEW,
                request_id=req.id,
                persons=handlers,
                organ=req.organ,
            )
            return Outcome("session", session_id=s.id, expires_at=req.expires_at)
        kind = RegisterKind.COPY if req.action is AccessAction.COPY else RegisterKind.RETRIEVE
        package = self._package(uow, actor, req.scope, req.purpose, req, kind, handlers, language)
        return Outcome("export", export_id=package.id, sha256=package.sha256)

    # ---- the register ---------------------------------------------------------------------
    def register(self, actor: Principal, query: RegisterQuery) -> list[RegisterEntry]:
        actor.require(Permission.REGISTER_READ)
        with self._uow() as uow:
            units = self._units_in_reach(uow, actor)
            if units is not None:
                wanted = set(units) & set(query.unit_ids) if query.unit_ids is not None else units
                query = RegisterQuery(**{**query.__dict__, "unit_ids": tuple(sorted(wanted))})
            return uow.register.find(query)

    def note_register_export(self, actor: Principal, form: str, count: int) -> None:
        """Exporting the register is itself an operation to log."""
        actor.require(Permission.REGISTER_READ)
        with self._uow() as uow:
            uow.audit.append(
                AuditEvent(
                    self._clock.now(),
                    actor.username,
                    "register.export",
                    "register",
                    None,
                    detail={"form": form, "entries": count},
                )
            )
            uow.commit()

    # ---- internals ----------------------------------------------------------------------------
    def _staff_scope(
        self,
        uow: AccessUnitOfWork,
        actor: Principal,
        camera_ids: Sequence[int],
        start: datetime,
        end: datetime,
        purpose: str,
    ) -> FootageScope:
        errors: list[FieldError] = []
        if not purpose.strip():
            rule_id, article = PURPOSE_ARTICLE
            errors.append(
                FieldError("purpose", "state the purpose of viewing footage", rule_id, article)
            )
        scope = FootageScope(tuple(camera_ids), start, end)
        errors += check_scope(scope)
        if errors:
            raise ValidationFailed(errors)
        self._check_cameras(uow, actor, camera_ids)
        return scope

    def _check_cameras(
        self, uow: AccessUnitOfWork, actor: Principal, camera_ids: Sequence[int]
    ) -> tuple[int, ...]:
        errors = []
        if not camera_ids:
            errors.append(FieldError("camera_ids", "name at least one camera"))
        for i, cid in enumerate(camera_ids):
            if unit_in_reach(uow, actor, cid) is None:
                errors.append(FieldError(f"camera_ids[{i}]", f"no camera {cid} that you can see"))
        if errors:
            raise ValidationFailed(errors)
        return tuple(dict.fromkeys(camera_ids))

    def _units_in_reach(self, uow: AccessUnitOfWork, actor: Principal) -> set[int] | None:
        if actor.is_system or (actor.jurisdiction is None and actor.unit_id is None):
            return None
        return {
            s.unit_id
            for s in uow.sites.find(actor.unit_id)
            if reaches_site(actor, s.unit_id, s.division_code)
        }

    def _start_session(
        self,
        uow: AccessUnitOfWork,
        actor: Principal,
        kind: SessionKind,
        scope: FootageScope,
        purpose: str,
        expires_at: datetime,
        register_kind: RegisterKind,
        *,
        request_id: int | None = None,
        persons: tuple[Person, ...] = (),
        organ: str = "",
    ) -> PlaybackSession:
        now = self._clock.now()
        s = PlaybackSession(
            None, kind, actor.user_id or 0, scope, purpose, now, expires_at, request_id
        )
        uow.playback_sessions.add(s)
        entries = self._entries(
            uow,
            actor,
            register_kind,
            scope,
            purpose,
            session_id=s.id,
            request_id=request_id,
            persons=persons,
            organ=organ,
            live=kind is SessionKind.LIVE,
        )
        for e in entries:
            uow.register.add(e)
        s.register_entry_id = entries[0].id if entries else None
        uow.playback_sessions.set_entry(s)
        uow.audit.append(
            AuditEvent(
                now,
                actor.username,
                f"{register_kind.value}.open",
                "session",
                str(s.id),
                detail={
                    "scope": _scope_detail(scope),
                    "purpose": purpose,
                    "request_id": request_id,
                },
            )
        )
        return s

    def _entries(
        self,
        uow: AccessUnitOfWork,
        actor: Principal,
        kind: RegisterKind,
        scope: FootageScope,
        purpose: str,
        *,
        session_id: int | None = None,
        request_id: int | None = None,
        persons: tuple[Person, ...] = (),
        organ: str = "",
        output: tuple[str, str] | None = None,
        live: bool = False,
    ) -> list[RegisterEntry]:
        """One register entry per operating unit whose cameras are in scope."""
        now = self._clock.now()
        role = actor.role.value if actor.role else "system"
        me = Person(actor.full_name or actor.username, role)
        by_unit: dict[int | None, list[int]] = {}
        for cid in scope.camera_ids:
            by_unit.setdefault(unit_in_reach(uow, SYSTEM, cid), []).append(cid)
        return [
            RegisterEntry(
                id=None,
                at=now,
                kind=kind,
                unit_id=unit_id,
                user_id=actor.user_id,
                persons=(me, *persons),
                organ=organ,
                purpose=purpose,
                camera_ids=tuple(cams),
                start=None if live else scope.start,
                end=None if live else scope.end,
                request_id=request_id,
                session_id=session_id,
                output_sha256=output[0] if output else None,
                output_name=output[1] if output else None,
            )
            for unit_id, cams in by_unit.items()
        ]

    def _package(
        self,
        uow: AccessUnitOfWork,
        actor: Principal,
        scope: FootageScope,
        purpose: str,
        req: AccessRequest | None,
        kind: RegisterKind,
        persons: tuple[Person, ...],
        language: str | None = None,
    ) -> ExportPackage:
        """Register it, then build the signed package (services/evidence.py); the register
        entries and the export row get the ZIP's hash once it is written."""
        now = self._clock.now()
        request_id = req.id if req else None
        entries = self._entries(
            uow,
            actor,
            kind,
            scope,
            purpose,
            request_id=request_id,
            persons=persons,
            organ=req.organ if req else "",
        )
        for e in entries:
            uow.register.add(e)
        entry_id = entries[0].id if entries else None
        name = f"{now:%Y%m%dT%H%M%S}-{kind.value}-{actor.user_id or 0}-r{entry_id}"
        package = ExportPackage(
            None, actor.user_id or 0, scope, purpose, now, f"{name}.zip", "", 0, 0, request_id
        )
        package.register_entry_id = entry_id
        uow.exports.add(package)
        assert package.id is not None
        order = PackageOrder(
            package.id, name, kind, scope, purpose, req, package.register_entry_id, language
        )
        built = self._evidence.build(uow, actor, order, self._source)
        package.sha256, package.bytes = built.sha256, built.bytes
        package.segment_count = built.segment_count
        uow.exports.finish(package)
        uow.register.set_output([e.id for e in entries if e.id], built.sha256, package.path)
        if self._shared_exports is not None:  # before the commit: no row without its copy
            self._shared_exports.keep(package.path, self._exports_root / package.path, built.sha256)
        return package

    def _session(self, uow: AccessUnitOfWork, actor: Principal, session_id: int) -> PlaybackSession:
        s = uow.playback_sessions.get(session_id)
        if s is None or s.user_id != actor.user_id:
            raise NotFound("session", session_id)
        if not s.is_open(self._clock.now()):
            raise ValidationFailed(
                FieldError(
                    "session_id", f"the session ended or expired at {s.expires_at.isoformat()}"
                )
            )
        return s

    def _check_inside(
        self,
        uow: AccessUnitOfWork,
        s: PlaybackSession,
        camera_id: int,
        start: datetime,
        end: datetime,
    ) -> None:
        errors = []
        if camera_id not in s.scope.camera_ids:
            errors.append(FieldError("camera_id", f"camera {camera_id} is not in this session"))
        if start < s.scope.start:
            errors.append(
                FieldError("start", f"before the granted range ({s.scope.start.isoformat()})")
            )
        if end > s.scope.end:
            errors.append(FieldError("end", f"after the granted range ({s.scope.end.isoformat()})"))
        if end <= start:
            errors.append(FieldError("end", "must be after start"))
        if errors:
            self._refuse_outside(uow, s, errors)

    def _refuse_outside(
        self, uow: AccessUnitOfWork, s: PlaybackSession, errors: list[FieldError]
    ) -> NoReturn:
        """Outside a grant session's scope the rules refuse (information limited to the duty's
        needs: Decree 799 art. 20, Chongqing art. 25 ¶2(4), Xi'an art. 27 ¶2(4)); outside a
        staff session's own bounds it is the session that refuses."""
        cites = self._scope_articles(uow, s) if s.kind is SessionKind.GRANT else ()
        if cites:
            raise RuleRefusal(
                [
                    dataclasses.replace(e, rule_id=c.rule_id, article=c.human)
                    for e in errors
                    for c in cites
                ]
            )
        raise ValidationFailed(errors)

    def _scope_articles(self, uow: AccessUnitOfWork, s: PlaybackSession) -> tuple[Citation, ...]:
        if self._rules is None:
            return ()
        found: list[Citation] = []
        for cid in s.scope.camera_ids:
            cam = uow.cameras.get(cid)
            site = uow.sites.get(cam.site_id) if cam else None
            if site is not None:
                rules = self._rules.effective(site.division_code, site.public_place_article)
                found.extend(rules.scope_limited_to_duty.citations)
        return tuple(dict.fromkeys(found))

    def _source(self, seg: Segment) -> Path:
        """The segment's local file; if it is gone, a verified copy from the object store."""
        local = self._segment_file(seg.path)
        if self._fetch is None or local.exists():
            return local
        return self._fetch(seg) or local

    def _logged(
        self, actor: Principal, action: str, obj_id: int | None
    ) -> AbstractContextManager[None]:
        return refusals_logged(self._uow, self._clock, actor, action, "footage", obj_id)


def _cut(seg: Segment, scope: FootageScope) -> tuple[float | None, float | None]:
    cut_from = (scope.start - seg.start_at).total_seconds() if seg.start_at < scope.start else None
    cut_to = (scope.end - seg.start_at).total_seconds() if seg.end_at > scope.end else None
    return cut_from, cut_to


def _scope_detail(scope: FootageScope) -> dict[str, Any]:
    return {
        "camera_ids": list(scope.camera_ids),
        "start": scope.start.isoformat(),
        "end": scope.end.isoformat(),
    }
