"""Video quality diagnosis: the sampler, and the people who set thresholds and references.

:meth:`DiagnosisService.tick` samples each recording camera once per ``every_s`` seconds of
recorded time: it takes the newest *sealed* segment not yet sampled, has the
:class:`FrameAnalyser` port decode the keyframes at offsets 0, N, 2N … of it (read-only; the
recorder's process and files are never touched) and measure them, judges the metrics in time
order (``domain.diagnosis``) so the K-in-a-row counters see every sample, stores the samples
and the counters, and raises or clears a ``diagnosis`` alarm per fault (subject
``camera:<id>:<fault>``). A segment shorter than N gives one sample, and the next segment is
taken only once N seconds have passed since the last sample. A camera's first sample becomes
its accepted reference snapshot.

A new reference is proposed from the latest sample by one person and approved by a different
one (four eyes, ``domain.diagnosis_state.check_approval``); both enter the operation log.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from custos.domain.access import Permission
from custos.domain.alarms import AlarmKind, Severity
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.diagnosis import (
    BASELINE_SAMPLES,
    Fault,
    FrameMetrics,
    Thresholds,
    advance,
    baseline_of,
    judge,
    keeps_baseline,
)
from custos.domain.diagnosis_state import (
    CameraDiagnosis,
    Reference,
    ReferenceState,
    check_approval,
)
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.recording import RecorderState
from custos.domain.registry import Camera, Site
from custos.domain.rules import RuleBook
from custos.domain.users import SYSTEM, Principal
from custos.domain.visibility import reaches_camera, reaches_site
from custos.services.alarms import AlarmService
from custos.services.ports import RecordingUnitOfWork
from custos.services.refusals import refusals_logged

log = logging.getLogger(__name__)

CRITICAL_FAULTS = frozenset({Fault.SIGNAL_LOSS, Fault.SCENE_CHANGE})
# The most samples one segment gives (a 1 h segment at N = 30 s): a bad duration cannot make
# the sampler decode without end.
MAX_SAMPLES_PER_SEGMENT = 120


def sample_offsets(duration_s: float, every_s: float) -> list[float]:
    """Offsets (seconds into a segment) to sample: 0, N, 2N … below the segment's duration;
    at least the start, at most :data:`MAX_SAMPLES_PER_SEGMENT`."""
    if not math.isfinite(duration_s) or duration_s <= 0:
        return [0.0]
    count = min(MAX_SAMPLES_PER_SEGMENT, max(1, math.ceil(duration_s / every_s)))
    return [i * every_s for i in range(count)]


class CameraDiagnoses(Protocol):
    def get(self, camera_id: int) -> CameraDiagnosis | None: ...
    def put(self, d: CameraDiagnosis) -> None: ...


class References(Protocol):
    def add(self, ref: Reference) -> Reference: ...
    def get(self, reference_id: int) -> Reference | None: ...
    def find(self, camera_id: int) -> list[Reference]: ...
    def approved(self, camera_id: int) -> Reference | None: ...
    def set_state(
        self, reference_id: int, state: ReferenceState, by: str | None = None,
        at: datetime | None = None,
    ) -> None: ...  # fmt: skip


class DiagnosisUnitOfWork(RecordingUnitOfWork, Protocol):
    @property
    def diagnosis(self) -> CameraDiagnoses: ...
    @property
    def diagnosis_references(self) -> References: ...


class FrameAnalyser(Protocol):
    """Decodes keyframes of a sealed segment and measures them (``adapters.diagnosis``)."""

    def analyse(
        self, camera_id: int, segment: str, reference: tuple[str, str] | None,
        offsets: Sequence[float] = (0.0,),
    ) -> list[FrameMetrics]:  # fmt: skip
        """Measure, for each offset (seconds into ``segment``, a path relative to the media
        root), the next keyframe at or after it, never one keyframe twice, in time order; each
        against the sample before it and ``reference`` (path, SHA-256). The last frame becomes
        the camera's latest sample. Empty when no frame decodes."""
        ...

    def keep_reference(self, camera_id: int) -> tuple[str, str] | None:
        """Copy the latest sample into a reference file: (path, SHA-256); None if no sample."""
        ...

    def latest(self, camera_id: int) -> bytes | None: ...
    def image(self, relative: str, sha256: str) -> bytes | None: ...


@dataclass
class TickReport:
    sampled: list[int] = field(default_factory=list)
    raised: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)


class DiagnosisService:
    def __init__(
        self,
        uow: Callable[[], DiagnosisUnitOfWork],
        clock: Clock,
        analyser: FrameAnalyser,
        alarms: AlarmService,
        rules: RuleBook,
        every_s: float = 30.0,
        defaults: Thresholds | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._analyser = analyser
        self._alarms = alarms
        self._rules = rules
        self._every = timedelta(seconds=every_s)
        self._defaults = defaults or Thresholds()

    # ---- the sampler ----------------------------------------------------------------------
    def tick(self) -> TickReport:
        report = TickReport()
        now = self._clock.now()
        with self._uow() as uow:
            recording = [
                h.camera_id for h in uow.health.find() if h.state is RecorderState.RECORDING
            ]
            due = []
            for camera_id in recording:
                seg = uow.segments.last_of(camera_id)
                state = uow.diagnosis.get(camera_id) or CameraDiagnosis(camera_id)
                fresh = seg is not None and seg.id != state.last_segment_id and not seg.missing
                if (
                    seg is None
                    or not fresh
                    or (state.sampled_at is not None and now - state.sampled_at < self._every)
                ):
                    continue
                ref = uow.diagnosis_references.approved(camera_id)
                offsets = sample_offsets(seg.duration_s, self._every.total_seconds())
                due.append((state, seg.id, seg.path, offsets, ref))
        for state, segment_id, path, offsets, ref in due:
            try:
                self._sample(state, segment_id or 0, path, offsets, ref, report)
            except Exception:  # one camera's bad file must not stop the others
                log.exception("diagnosis of camera %d failed", state.camera_id)
        return report

    def _sample(
        self, state: CameraDiagnosis, segment_id: int, path: str, offsets: list[float],
        ref: Reference | None, report: TickReport,
    ) -> None:  # fmt: skip
        camera_id = state.camera_id
        measured = self._analyser.analyse(
            camera_id, path, (ref.path, ref.sha256) if ref else None, offsets
        )
        now = self._clock.now()
        if not measured:
            with self._uow() as uow:
                uow.diagnosis.put(dataclasses.replace(state, last_segment_id=segment_id))
                uow.commit()
            return
        t = self._thresholds(state)
        events: list[tuple[Fault, FrameMetrics | None]] = []  # None: cleared; in order
        for metrics in measured:  # in time order: the counters see every sample
            verdict = judge(metrics, t, baseline_of(list(state.history)), state.metrics)
            step = advance(state.counters, verdict, t)
            history = state.history
            if keeps_baseline(verdict, step.counters):
                history = (*history, metrics)[-BASELINE_SAMPLES:]
            state = dataclasses.replace(
                state, last_segment_id=segment_id, sampled_at=now, metrics=metrics,
                faults=verdict.faulty, counters=step.counters, history=history,
            )  # fmt: skip
            events += [(fault, metrics) for fault in sorted(step.raise_)]
            events += [(fault, None) for fault in sorted(step.clear)]
        with self._uow() as uow:
            uow.diagnosis.put(state)
            if ref is None:
                self._accept_first_reference(uow, camera_id)
            camera = uow.cameras.get(camera_id)
            site = uow.sites.get(camera.site_id) if camera else None
            uow.commit()
        report.sampled += [camera_id] * len(measured)
        for fault, raised_by in events:
            subject = f"camera:{camera_id}:{fault.value}"
            if raised_by is None:
                self._alarms.clear(AlarmKind.DIAGNOSIS, subject)
                report.cleared.append(subject)
                continue
            articles = self._scene_articles(site) if fault is Fault.SCENE_CHANGE else []
            self._raise(camera_id, fault, raised_by, t, articles)
            report.raised.append(subject)

    def _raise(
        self, camera_id: int, fault: Fault, m: FrameMetrics, t: Thresholds, articles: list[str]
    ) -> None:
        detail: dict[str, Any] = {"fault": fault.value, "metrics": m.as_dict(),
                                  "samples_in_a_row": t.k_raise}  # fmt: skip
        message = f"camera {camera_id}: {fault.value} in {t.k_raise} samples in a row"
        if fault is Fault.SCENE_CHANGE:
            detail["articles"] = articles  # none where no pack states the duty
        if articles:
            message += (
                "; do not change a camera's location or function (" + ", ".join(articles) + ")"
            )
        severity = Severity.CRITICAL if fault in CRITICAL_FAULTS else Severity.WARNING
        self._alarms.raise_(
            AlarmKind.DIAGNOSIS, severity, f"camera:{camera_id}:{fault.value}", message, detail,
            camera_id=camera_id,
        )  # fmt: skip

    def _scene_articles(self, site: Site | None) -> list[str]:
        """The articles behind "do not change location or function" where the camera is
        (Beijing art. 12(4), Chongqing art. 20(7), Xi'an art. 22(7), Shaanxi art. 16(3),
        Liaoning art. 14(5)); none where no pack states the duty."""
        if site is None:
            return []
        effective = self._rules.effective(site.division_code, site.public_place_article)
        duty = effective.operating.keep_location_and_function
        return list(duty.rule_ids) if duty.value else []

    def _accept_first_reference(self, uow: DiagnosisUnitOfWork, camera_id: int) -> None:
        if uow.diagnosis_references.find(camera_id):
            return
        kept = self._analyser.keep_reference(camera_id)
        if kept is None:
            return
        now = self._clock.now()
        ref = uow.diagnosis_references.add(
            Reference(None, camera_id, kept[0], kept[1], ReferenceState.APPROVED,
                      "acceptance: the camera's first sample", SYSTEM.username, now,
                      SYSTEM.username, now)
        )  # fmt: skip
        uow.audit.append(
            AuditEvent(now, SYSTEM.username, "diagnosis.reference.accept", "camera",
                       str(camera_id), detail=ref.as_dict())
        )  # fmt: skip

    def _thresholds(self, state: CameraDiagnosis) -> Thresholds:
        try:
            return self._defaults.with_overrides(state.overrides)
        except ValidationFailed:
            log.warning("camera %d: stored thresholds refused; defaults used", state.camera_id)
            return self._defaults

    # ---- people ---------------------------------------------------------------------------
    def status(self, actor: Principal, camera_id: int) -> dict[str, Any]:
        actor.require(Permission.ALARM_READ)
        with self._uow() as uow:
            _camera(uow, actor, camera_id)
            state = uow.diagnosis.get(camera_id) or CameraDiagnosis(camera_id)
            refs = uow.diagnosis_references.find(camera_id)
        base = baseline_of(list(state.history))
        return {
            **state.as_dict(),
            "thresholds": self._thresholds(state).as_dict(),
            "baseline": dataclasses.asdict(base) if base else None,
            "references": [r.as_dict() for r in refs],
        }

    def set_thresholds(
        self, actor: Principal, camera_id: int, overrides: dict[str, Any]
    ) -> dict[str, Any]:
        actor.require(Permission.DIAGNOSIS_MANAGE)
        with self._logged(actor, "diagnosis.thresholds", camera_id), self._uow() as uow:
            _camera(uow, actor, camera_id)
            thresholds = self._defaults.with_overrides(overrides)  # refuses a bad value
            state = uow.diagnosis.get(camera_id) or CameraDiagnosis(camera_id)
            uow.diagnosis.put(dataclasses.replace(state, overrides=dict(overrides)))
            uow.audit.append(
                AuditEvent(self._clock.now(), actor.username, "diagnosis.thresholds", "camera",
                           str(camera_id), detail={"overrides": dict(overrides)})
            )  # fmt: skip
            uow.commit()
        return thresholds.as_dict()

    def propose_reference(self, actor: Principal, camera_id: int, reason: str) -> Reference:
        """Propose the latest sample as the camera's new reference (after a lawful change)."""
        actor.require(Permission.DIAGNOSIS_MANAGE)
        with self._logged(actor, "diagnosis.reference.propose", camera_id), self._uow() as uow:
            _camera(uow, actor, camera_id)
            if not reason.strip():
                raise ValidationFailed(FieldError("reason", "say what lawful change this follows"))
            kept = self._analyser.keep_reference(camera_id)
            if kept is None:
                raise ValidationFailed(
                    FieldError("camera_id", "has no sample yet to propose as a reference")
                )
            now = self._clock.now()
            ref = uow.diagnosis_references.add(
                Reference(None, camera_id, kept[0], kept[1], ReferenceState.PROPOSED,
                          reason.strip(), actor.username, now)
            )  # fmt: skip
            uow.audit.append(
                AuditEvent(now, actor.username, "diagnosis.reference.propose", "camera",
                           str(camera_id), detail=ref.as_dict())
            )  # fmt: skip
            uow.commit()
        return ref

    def approve_reference(self, actor: Principal, reference_id: int) -> Reference:
        """A second person approves a proposed reference; the previous one is superseded and
        the camera's baseline starts again from new samples."""
        actor.require(Permission.DIAGNOSIS_MANAGE)
        with self._logged(actor, "diagnosis.reference.approve", reference_id), self._uow() as uow:
            ref = uow.diagnosis_references.get(reference_id)
            if ref is None:
                raise NotFound("reference", reference_id)
            _camera(uow, actor, ref.camera_id)
            check_approval(ref, actor.username)
            now = self._clock.now()
            old = uow.diagnosis_references.approved(ref.camera_id)
            if old is not None and old.id is not None:
                uow.diagnosis_references.set_state(old.id, ReferenceState.SUPERSEDED)
            assert ref.id is not None
            uow.diagnosis_references.set_state(ref.id, ReferenceState.APPROVED, actor.username, now)
            state = uow.diagnosis.get(ref.camera_id) or CameraDiagnosis(ref.camera_id)
            uow.diagnosis.put(dataclasses.replace(state, history=()))
            approved = dataclasses.replace(
                ref, state=ReferenceState.APPROVED, approved_by=actor.username, approved_at=now
            )
            uow.audit.append(
                AuditEvent(now, actor.username, "diagnosis.reference.approve", "camera",
                           str(ref.camera_id), detail=approved.as_dict())
            )  # fmt: skip
            uow.commit()
        return approved

    def reference_image(self, actor: Principal, reference_id: int) -> bytes:
        actor.require(Permission.ALARM_READ)
        with self._uow() as uow:
            ref = uow.diagnosis_references.get(reference_id)
            if ref is None:
                raise NotFound("reference", reference_id)
            _camera(uow, actor, ref.camera_id)
        data = self._analyser.image(ref.path, ref.sha256)
        if data is None:
            raise NotFound("reference image", reference_id)
        return data

    def latest_image(self, actor: Principal, camera_id: int) -> bytes:
        actor.require(Permission.ALARM_READ)
        with self._uow() as uow:
            _camera(uow, actor, camera_id)
        data = self._analyser.latest(camera_id)
        if data is None:
            raise NotFound("sample", camera_id)
        return data

    @contextmanager
    def _logged(self, actor: Principal, action: str, obj_id: int) -> Iterator[None]:
        with refusals_logged(self._uow, self._clock, actor, action, "camera", obj_id):
            yield


def _camera(uow: DiagnosisUnitOfWork, actor: Principal, camera_id: int) -> Camera:
    camera = uow.cameras.get(camera_id)
    site = uow.sites.get(camera.site_id) if camera is not None else None
    if camera is None or site is None:
        raise NotFound("camera", camera_id)
    if not reaches_site(actor, site.unit_id, site.division_code) or not reaches_camera(
        actor, site.unit_id, site.id or 0, camera_id
    ):
        raise NotFound("camera", camera_id)
    return camera
