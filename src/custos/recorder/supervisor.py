"""The recorder process: reconcile, then keep one worker per camera in service, in step with the
registry, and publish their health."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

from custos.adapters.storage.segment_files import SegmentStore
from custos.domain.clock import Clock
from custos.domain.cluster import HeldLease, NodeState
from custos.domain.gb_media import GB_SCHEME
from custos.domain.recording import CameraHealth, OfflineReason, RecorderState
from custos.recorder.camera_worker import CameraWorker, RecorderConfig
from custos.recorder.engines.ffmpeg import FfmpegEngine
from custos.recorder.engines.pyav import ShardPool
from custos.recorder.engines.router import EngineRouter
from custos.recorder.leases import LeaseKeeper
from custos.recorder.metrics import RecorderMetrics
from custos.recorder.node_adoption import is_own, quit_and_reconcile
from custos.recorder.port import RecordingEngine, RunningSession, source_hash
from custos.recorder.reconcile import ReconcileReport, reconcile
from custos.services.recording import RecordingService, RecordTarget
from custos.services.storage_watch import StorageFullAlarm, VolumeSpillAlarm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SupervisorTiming:
    registry_poll_s: float = 3.0
    health_publish_s: float = 2.0
    tick_s: float = 0.5
    stop_grace_s: float = 10.0


def configured_engine(config: RecorderConfig) -> RecordingEngine:
    """The engine that records cameras' own streams (and GB/T 28181 relays, behind the GB
    engine): ``pyav`` shards or one ``ffmpeg`` per camera."""
    if config.engine == "pyav":
        return ShardPool(
            config.cameras_per_shard,
            config.kill_grace_s,
            config.connect_s,
            config.shard_dir,
            config.orphan_s,
            config.shards_outlive,
        )
    return FfmpegEngine(config.ffmpeg)


class Supervisor:
    def __init__(
        self,
        service: RecordingService,
        store: SegmentStore,
        config: RecorderConfig,
        clock: Clock,
        metrics: RecorderMetrics | None = None,
        timing: SupervisorTiming | None = None,
        storage_alarm: StorageFullAlarm | None = None,
        spill_alarm: VolumeSpillAlarm | None = None,
        engine: RecordingEngine | None = None,
        gb_engine: RecordingEngine | None = None,
        leases: LeaseKeeper | None = None,
        running: list[RunningSession] | None = None,
    ) -> None:
        """``engine`` records cameras' streams (default: :func:`configured_engine`);
        ``gb28181://`` sources (usually through that same engine). With ``leases`` (a recorder
        node of a cluster, docs/design/cluster.md) it records only the cameras the node holds.
        ``running``: the sessions of the shards already re-attached (else it re-attaches)."""
        self._found = running
        self._leases = leases
        self._leases_seen = -1
        self._restart_noted = False
        self._service = service
        self._storage_alarm = storage_alarm
        self._spill_alarm = spill_alarm
        self._last_volume: dict[int, int] = {}  # camera → the volume its last run wrote to
        self._store = store
        self._config = config
        self._clock = clock
        self._metrics = metrics
        self._timing = timing or SupervisorTiming()
        self._workers: dict[int, CameraWorker] = {}
        self._base_engine = engine or configured_engine(config)
        self._running: dict[int, RunningSession] = {}  # sessions that outlived the last recorder
        #: a node: until when re-attached sessions wait for its first renewal (time.monotonic())
        self._adopt_until = 0.0
        self._engine = EngineRouter(
            self._base_engine,
            {GB_SCHEME: gb_engine} if gb_engine is not None else {},
        )
        self._sealed_by_stopped = 0
        self._sealed_reported = 0

    def run(self, stop: threading.Event) -> None:
        """Record until ``stop`` is set; then let every ffmpeg finish and seal its segment."""
        node = self._leases.me.name if self._leases is not None else None
        writing = self._reattach()
        report = self._reconcile(node, stop, writing)
        if report is None:
            return
        log.info("recording engine: %s", self._engine.name)
        log.info(
            "reconcile: %d adopted, %d quarantined, %d rows without file",
            len(report.adopted),
            len(report.quarantined),
            len(report.flagged_missing),
        )
        if self._leases is None:  # a camera whose session goes on lost nothing
            self._service.note_restart(
                [t.camera_id for t in self._service.targets() if t.camera_id not in self._running]
            )
        else:  # a node: a claim opens its camera's gap; what it kept, the first sync
            self._adopt_until = time.monotonic() + self._config.orphan_s
            self._leases.start()
        next_poll = next_publish = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_poll or (
                self._leases is not None and self._leases.version != self._leases_seen
            ):
                self._sync_with_registry()
                next_poll = now + self._timing.registry_poll_s
            for w in list(self._workers.values()):
                w.check_watchdog()
            self._check_storage()
            self._update_storage_alarm()
            self._update_spill_alarm()
            if now >= next_publish:
                self._publish()
                next_publish = now + self._timing.health_publish_s
            stop.wait(self._timing.tick_s)
        workers = list(self._workers.values())
        if self._leases is not None:
            self._leave(workers)
        else:
            self._stop_all(list(self._workers))
        self._engine.close()
        self._service.publish_health([w.health() for w in workers])

    def _leave(self, workers: list[CameraWorker]) -> None:
        """A node stopping gracefully: seal every camera's segment in flight, then hand every
        lease over at once (the others claim them at their next poll) and say it stopped."""
        keeper = self._leases
        assert keeper is not None
        keeper.stop_claiming()
        try:
            keeper.leave(NodeState.LEAVING)
        except Exception:  # the database's boundary: the leases expire all the same
            log.warning("node %s: cannot say it is leaving", keeper.me.name)
        self._stop_all(list(self._workers))
        try:
            keeper.release(list(keeper.held()))
            keeper.leave(NodeState.STOPPED)
        except Exception:  # the database's boundary: the leases expire all the same
            log.warning("node %s: cannot hand its leases over; they expire", keeper.me.name)
        keeper.stop()

    def _reattach(self) -> dict[str, int]:
        """Shards a crashed recorder left: their sessions, for the workers to take over (a node's
        only those under its name and the token it still holds: docs/design/recording.md,
        "Shards outlive their supervisor"). Returns the files not to reconcile: run directory →
        first sequence a live session may write."""
        found = self._found
        if found is None:
            if not isinstance(self._base_engine, ShardPool):
                return {}
            found = self._base_engine.reattach(self._clock)
        for running in found:
            if running.camera_id in self._running:  # one session per camera: the newest
                self._running.pop(running.camera_id).session.terminate()
            self._running[running.camera_id] = running
        return {self._store.relative(r.run_dir): r.first_sequence for r in found}

    def _reconcile(
        self, node: str | None, stop: threading.Event, writing: dict[str, int] | None = None
    ) -> ReconcileReport | None:
        """Reconcile before recording; a database not reachable yet is waited for (a node
        started while PostgreSQL restarts), never a reason to exit. None: stopped meanwhile."""
        while True:
            try:
                return reconcile(
                    self._service, self._store, self._clock, node=node, writing=writing
                )
            except OSError:
                raise
            except Exception:  # the database's boundary: tried again in a few seconds
                log.exception("cannot reconcile yet (is the database reachable?); retrying")
            if stop.wait(5):
                return None

    def _check_storage(self) -> None:
        """As soon as the volume a camera writes to falls below the minimum, end its run
        cleanly: it goes on at once on the first volume with room (spill), or, with none left,
        stops (``storage_full``); each worker checks again before every reconnection and
        resumes when space returns."""
        minimum = self._config.min_free_bytes
        free = self._store.free_by_volume()  # 0 for a volume that cannot be read
        for w in list(self._workers.values()):
            volume = w.volume
            if volume is None or free[volume] >= minimum:
                continue
            w.storage_low(room_elsewhere=any(f >= minimum for f in free))

    def _update_storage_alarm(self) -> None:
        """Raise the ``storage_full`` alarm in the tick a camera stops for want of room, and
        clear it in the tick none is stopped for it any more (an alarm is also a promise to
        whoever watches it: not a minute late, not open after recording resumed)."""
        if self._storage_alarm is None:
            return
        stopped = [
            w.camera_id
            for w in self._workers.values()
            if w.offline_reason is OfflineReason.STORAGE_FULL
        ]
        try:
            if self._storage_alarm.update(stopped):
                if stopped:
                    log.warning("storage_full alarm raised: cameras %s stopped", stopped)
                else:
                    log.info("storage_full alarm cleared: every camera has room again")
        except Exception:  # the supervisor loop's boundary: tried again at the next tick
            log.exception("cannot raise or clear the storage_full alarm")

    def _update_spill_alarm(self) -> None:
        """Raise ``volume_spill`` for each volume after the first that a camera writes to, clear
        it when none does (writing back on the first volume)."""
        if self._spill_alarm is None:
            return
        # between two runs (a reconnection, the spill itself) a camera keeps its last volume,
        # so the alarm does not flap
        last = self._last_volume
        for gone in set(last) - set(self._workers):
            del last[gone]
        writing: dict[int, list[int]] = {}
        for cam, w in self._workers.items():
            volume = w.volume
            if volume is not None:
                last[cam] = volume
            if cam in last:
                writing.setdefault(last[cam], []).append(cam)
        try:
            if self._spill_alarm.update(writing):
                log.info("volume_spill alarms now on volumes %s", sorted(v for v in writing if v))
        except Exception:  # the supervisor loop's boundary: tried again at the next tick
            log.exception("cannot raise or clear the volume_spill alarm")

    def _sync_with_registry(self) -> None:
        # a node reads only the cameras it holds or still records (bounded by its capacity,
        # docs/design/cluster.md); one machine, the whole registry
        seen = self._leases.version if self._leases is not None else -1
        held = self._leases.held() if self._leases is not None else None
        try:
            registry = {
                t.camera_id: t
                for t in self._service.targets(
                    None if held is None else set(held) | set(self._workers)
                )
            }
        except (
            Exception
        ):  # the supervisor loop's boundary: a database hiccup must not stop recording
            log.exception("cannot read the registry; keeping the current cameras")
            return
        self._leases_seen = seen
        targets, handing_over = self._leased(registry, held)
        if self._leases is not None and not self._restart_noted and self._leases.renewed_at:
            # the cameras this node kept across its own restart (renewed, never claimed):
            # footage since each one's last segment was lost to it, unless its session went on
            self._restart_noted = True
            try:
                self._service.note_restart(
                    sorted(c for c, t in targets.items() if not self._own_running(t))
                )
            except Exception:  # the database's boundary: the hole shows all the same
                log.exception("cannot note the restart's gaps")
        gone = [cid for cid, w in self._workers.items() if targets.get(cid) != w.target]
        self._stop_all(gone, removed={cid for cid in gone if cid not in registry})
        if self._leases is not None and handing_over:
            try:
                self._leases.release(handing_over)
            except Exception:  # the database's boundary: handed over at the next sync
                log.warning("cannot hand cameras %s over yet", handing_over)
        for cid, target in targets.items():
            if cid not in self._workers:
                self._start(target)
        if self._running and self._leases is not None and not self._leases.renewed_at:
            if time.monotonic() < self._adopt_until:
                return  # what it holds is known at its first renewal
            log.warning("node %s: no renewal yet; the running sessions stop", self._leases.me.name)
        for cid in list(self._running):  # no longer to be recorded here
            self._quit(self._running.pop(cid))

    def _leased(
        self, registry: dict[int, RecordTarget], held: dict[int, HeldLease] | None
    ) -> tuple[dict[int, RecordTarget], list[int]]:
        """The cameras to record: all of the registry's on one machine; on a node, those it
        held when the registry was read (each with its lease's token), and the held ones to
        hand over now (asked to, or no longer to be recorded), their workers stopped first."""
        if self._leases is None or held is None:
            return registry, []
        node = self._leases.me.name
        mine = {
            cid: replace(t, node=node, fencing_token=held[cid].fencing_token)
            for cid, t in registry.items()
            if cid in held and not held[cid].releasing
        }
        handing_over = [cid for cid in held if cid not in mine]
        return mine, handing_over

    def _start(self, target: RecordTarget) -> None:
        log.info("camera %s: recording starts (%s)", target.camera_id, target.stream.redacted())
        running = self._running.pop(target.camera_id, None)
        if (
            running is not None
            and self._leases is not None
            and not is_own(running, self._leases.me.name, target.fencing_token)
        ):
            self._quit(running)
            running = None
        if running is not None and running.source_hash != source_hash(
            target.stream.with_credentials()
        ):
            log.info("camera %s: its stream changed; the running session stops", target.camera_id)
            running.session.terminate()
            running = None
        w = CameraWorker(
            target, self._config, self._store, self._service, self._clock, self._engine, running
        )
        self._workers[target.camera_id] = w
        w.start()

    def _own_running(self, target: RecordTarget) -> bool:
        """A node's: the camera's running session records under its name and current token."""
        running = self._running.get(target.camera_id)
        return (
            running is not None
            and self._leases is not None
            and is_own(running, self._leases.me.name, target.fencing_token)
        )

    def _quit(self, running: RunningSession) -> None:
        if self._leases is None:
            running.session.terminate()
        else:
            quit_and_reconcile(
                running, self._service, self._store, self._clock, self._leases.me.name
            )

    def _stop_all(self, camera_ids: list[int], removed: set[int] | None = None) -> None:
        workers = [self._workers.pop(cid) for cid in camera_ids if cid in self._workers]
        for w in workers:
            w.stop()
        for w in workers:
            w.join(self._timing.stop_grace_s)
            self._sealed_by_stopped += w.sealed
            if removed and w.camera_id in removed:
                self._mark_removed(w)
                if self._metrics:
                    self._metrics.forget(w.camera_id)

    def _mark_removed(self, w: CameraWorker) -> None:
        try:
            self._publish_removed(w)
        except Exception:  # the supervisor loop's boundary: shown removed at the next sync
            log.exception("camera %s: cannot publish that it was removed", w.camera_id)

    def _publish_removed(self, w: CameraWorker) -> None:
        now = self._clock.now()
        h = w.health()
        gone = CameraHealth(
            w.camera_id,
            RecorderState.OFFLINE,
            OfflineReason.REMOVED,
            "",
            now,
            h.last_frame_at,
            None,
            None,
            now,
        )
        self._service.publish_health([gone])

    def _publish(self) -> None:
        board = [w.health() for w in self._workers.values()]
        sealed = self._sealed_by_stopped + sum(w.sealed for w in self._workers.values())
        try:
            self._service.publish_health(board)
        except Exception:  # the supervisor loop's boundary
            log.exception("cannot publish camera health")
        if self._metrics:
            self._metrics.observe(board, sealed - self._sealed_reported)
        self._sealed_reported = sealed
