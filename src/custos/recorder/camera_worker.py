"""One camera's recording loop: connect, segment, seal, and reconnect with capped backoff."""

from __future__ import annotations

import contextlib
import errno
import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from custos.adapters.media import fmp4
from custos.adapters.media.ffmpeg_segmenter import ListedSegment, classify_exit
from custos.adapters.storage.segment_files import SegmentStore, split_volume
from custos.domain.clock import Clock
from custos.domain.gb_media import GB_SCHEME
from custos.domain.recording import (
    RECORDABLE_CODECS,
    CameraHealth,
    OfflineReason,
    RecorderState,
    Segment,
    WallClockAnchor,
)
from custos.domain.stream_url import redact_credentials
from custos.recorder.backoff import Backoff
from custos.recorder.lease_stamp import LeaseStamp, remove_stamp, write_stamp
from custos.recorder.port import (
    RecordingEngine,
    RecordingSession,
    RunningSession,
    SessionRequest,
)
from custos.recorder.reconcile import adopt_files
from custos.recorder.run_outcome import ended_detail
from custos.recorder.run_state import RunState
from custos.recorder.segment_indexer import SegmentIndexer
from custos.services.recording import RecordingService, RecordTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecorderConfig:
    segment_seconds: int = 60
    io_timeout_s: float = 5.0  # ffmpeg's own socket timeout
    stall_s: float = 10.0  # the watchdog ends a run with no new frame for this long
    #: …and one whose stream is still not described this long after the run began (RTSP
    #: set-up and probing; 400 connections set up at once on two cores take up to ~15 s).
    connect_s: float = 20.0
    kill_grace_s: float = 10.0  # SIGKILL when ffmpeg is still there this long after SIGTERM
    backoff: Backoff = field(default_factory=Backoff)  # the waits between tries
    min_free_bytes: int = 256 * 1024 * 1024
    ffmpeg: str = "ffmpeg"
    engine: str = "pyav"  # or "ffmpeg" (docs/design/recording.md, "Engines")
    cameras_per_shard: int = 25
    #: where the shards' sockets are (None: a directory of the engine's own, no re-attaching),
    #: and how long a shard records on with no recorder attached
    shard_dir: Path | None = None
    orphan_s: float = 30.0
    shards_outlive: bool = True  # False: they die with the recorder
    #: where each session's live tap listens (``<live_dir>/<camera>.main.sock``: the pyav
    #: engine's; docs/design/live.md); None: no tap
    live_dir: Path | None = None


class TornSegmentError(Exception):
    """A listed segment ends in a torn fragment (its writer ran out of space, or died while
    closing it) or has none: it is not sealed as listed but adopted, which cuts the torn tail
    aside (or quarantines a file without a complete fragment)."""


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def reachable(url: str, timeout_s: float = 1.0) -> bool:
    """A cheap TCP probe, so an absent camera costs no ffmpeg start every few seconds. None for
    a GB/T 28181 channel: the SIP server says at once whether its device is online."""
    parts = urlsplit(url)
    if parts.scheme == GB_SCHEME:
        return True
    default = 322 if parts.scheme == "rtsps" else 554
    try:
        with socket.create_connection((parts.hostname or "", parts.port or default), timeout_s):
            return True
    except OSError:
        return False


class CameraWorker:
    def __init__(
        self,
        target: RecordTarget,
        config: RecorderConfig,
        store: SegmentStore,
        service: RecordingService,
        clock: Clock,
        engine: RecordingEngine,
        running: RunningSession | None = None,
    ) -> None:
        """``running``: the camera's session that outlived the last recorder, taken over."""
        self.target = target
        self._engine = engine
        self._running = running
        self._taken_over: RunState | None = None  # the run of the session taken over
        self._config = config
        self._store = store
        self._service = service
        self._clock = clock
        self._stop = threading.Event()
        self._proc: RecordingSession | None = None
        self._run: RunState | None = None
        self._killed_for: OfflineReason | None = None
        self._terminated_at: float | None = None  # time.monotonic() of our SIGTERM to ffmpeg
        self._volume: int | None = None  # where the run in progress writes
        self._spill = False  # the run in progress was asked to end to move to another volume
        self._switching = False  # the last run ended for that: start the next one at once
        self._state = RecorderState.CONNECTING
        self._reason: OfflineReason | None = None
        self._detail = ""
        self._since = clock.now()
        self._bitrate_kbps: float | None = None
        self._unadopted: list[str] = []  # files left for want of room to keep a torn tail
        #: the last try ended before an engine start: no TCP connection (the probe failed), or
        #: no volume with room; trying again costs a SYN or a statvfs, so it comes soon
        self._before_engine = False
        self.sealed = 0
        self._indexer = SegmentIndexer(target.camera_id, service, store)
        self._thread = threading.Thread(
            target=self._loop, name=f"camera-{target.camera_id}", daemon=True
        )

    @property
    def camera_id(self) -> int:
        return self.target.camera_id

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask ffmpeg to finish its segment (SIGTERM: it closes and lists it), then end the loop."""
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def offline_reason(self) -> OfflineReason | None:
        """Why the camera is offline now; None while it connects or records."""
        return self._reason if self._state is RecorderState.OFFLINE else None

    @property
    def volume(self) -> int | None:
        """The volume the running ffmpeg writes to; None while none runs."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return None
        return self._volume

    def check_watchdog(self) -> None:
        """Called every tick: end a run that has had no new frame for ``stall_s``.

        SIGTERM first, so ffmpeg writes the fragment it holds and lists its segment (a stalled
        read returns within ffmpeg's own time-out); SIGKILL if it is still there after
        ``kill_grace_s`` (then the fragment in flight is lost, and adopted if readable)."""
        run, proc = self._run, self._proc
        if run is None or proc is None or proc.poll() is not None:
            return
        if self._terminated_at is not None:
            if time.monotonic() - self._terminated_at > self._config.kill_grace_s:
                log.warning("camera %s: ffmpeg ignored SIGTERM, killing it", self.camera_id)
                proc.kill()
            return
        # No input listed yet: the peer has not got as far as describing a stream (it sends
        # junk without end, or nothing, or it is slow to set up); that is not a camera that
        # stopped sending, and it has its own, longer limit.
        described = bool(run.input_streams)
        limit = self._config.stall_s if described else self._config.connect_s
        if run.stalled_for() > limit:
            log.warning(
                "camera %s: no frame for %.0f s, restarting", self.camera_id, run.stalled_for()
            )
            self._terminate(
                proc, OfflineReason.STALLED if described else OfflineReason.PROTOCOL_ERROR
            )

    def _terminate(self, proc: RecordingSession, reason: OfflineReason) -> None:
        """SIGTERM, and show the camera offline now: a stalled ffmpeg may take its own socket
        time-out (several seconds) to exit. The gap opens once it has (after its last seal)."""
        self._killed_for = reason
        self._terminated_at = time.monotonic()
        proc.terminate()
        run = self._run
        detail = self._why_killed(reason, run) if run is not None else ""
        self._set_state(RecorderState.OFFLINE, reason, detail)

    def storage_low(self, room_elsewhere: bool = False) -> None:
        """Free space on the run's volume fell below the minimum: ffmpeg finishes and lists
        its segment (SIGTERM, so it is sealed while there is still room). With
        ``room_elsewhere`` the next run starts at once on the first volume with room (a
        spill: one reconnection, the camera stays ``recording``); otherwise the camera stays
        offline (``storage_full``) until space returns. Nothing is ever deleted to make room."""
        proc = self._proc
        if proc is None or proc.poll() is not None or self._killed_for is not None or self._spill:
            return
        if room_elsewhere:
            log.warning(
                "camera %s: volume %s below the minimum, moving to the next with room",
                self.camera_id,
                self._volume,
            )
            self._spill = True
            self._terminated_at = time.monotonic()  # the watchdog kills it if it lingers
            proc.terminate()
            return
        log.warning("camera %s: free space below the minimum, stopping", self.camera_id)
        self._terminate(proc, OfflineReason.STORAGE_FULL)

    def health(self) -> CameraHealth:
        run = self._run
        recording = self._state is RecorderState.RECORDING
        return CameraHealth(
            camera_id=self.camera_id,
            state=self._state,
            reason=self._reason,
            detail=self._detail,
            since=self._since,
            last_frame_at=run.last_frame_at if run else None,
            fps=run.fps if run and recording else None,
            bitrate_kbps=self._bitrate_kbps if recording else None,
            updated_at=self._clock.now(),
        )

    # ---- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        policy = self._config.backoff
        backoff = policy.probe_fast_s
        outage_since = time.monotonic()  # when frames last flowed (or the worker started)
        while not self._stop.is_set():
            self._before_engine = False
            try:
                recorded = self._attempt()
            except Exception:  # the worker loop's boundary: one camera never stops the others
                log.exception("camera %s: recording run failed", self.camera_id)
                self._go_offline(OfflineReason.STREAM_ENDED, "internal error, see the log")
                recorded = False
            if self._switching:  # the run ended only to move to another volume: at once
                backoff = policy.probe_fast_s
                continue
            run = self._run
            if recorded or (run is not None and run.frames > 0 and not self._before_engine):
                outage_since = time.monotonic()
            backoff = policy.next(
                backoff,
                recorded,
                self._reason,
                before_engine=self._before_engine,
                outage_s=time.monotonic() - outage_since,
            )
            self._stop.wait(backoff)
        if self._indexer.flush():
            log.warning(
                "camera %s: %d sealed segments not indexed; the next start adopts them",
                self.camera_id,
                self._indexer.waiting,
            )
        self._set_state(RecorderState.OFFLINE, OfflineReason.RECORDER_RESTART, "recorder stopped")

    def _attempt(self) -> bool:
        """One try: checks, then one ffmpeg run on the first volume with room. True if it
        sealed anything."""
        switching, self._switching = self._switching, False
        running, self._running = self._running, None
        if running is not None:
            return self._after_run(*self._take_over(running))
        volume = self._store.volume_with_room(self._config.min_free_bytes)
        if volume is None:
            self._before_engine = True
            self._go_offline(OfflineReason.STORAGE_FULL, self._below_minimum())
            return False
        if self._unadopted:  # there is room again: cut their torn tails aside, index them
            self._adopt(self._unadopted)
        self._indexer.flush()
        url = self.target.stream.with_credentials()
        if not reachable(url):
            self._before_engine = True
            self._go_offline(OfflineReason.UNREACHABLE, "no TCP connection")
            return False
        return self._after_run(*self._record_run(url, volume, switching))

    def _after_run(self, reason: OfflineReason, detail: str, sealed: int) -> bool:
        detail = redact_credentials(detail)  # ffmpeg's last line can quote the URL
        if self._spill and not self._stop.is_set():
            log.info(
                "camera %s: run on volume %s ended to spill over", self.camera_id, self._volume
            )
            self._switching = True
            return sealed > 0
        if not self._stop.is_set():
            log.info("camera %s: run ended, %s: %s", self.camera_id, reason, detail)
            self._go_offline(reason, detail)
        return sealed > 0

    def _record_run(
        self, url: str, volume: int, switching: bool = False
    ) -> tuple[OfflineReason, str, int]:
        run_id = new_run_id(self._clock.now())
        run_dir = self._store.run_dir(self.camera_id, run_id, volume)
        run = RunState(self._clock)
        if self._run is not None:  # an offline camera still shows when its last frame came
            run.last_frame_at = self._run.last_frame_at
        self._run, self._killed_for, self._terminated_at = run, None, None
        self._volume, self._spill = volume, False
        if self._state is not RecorderState.OFFLINE and not switching:
            # A retry keeps showing why the camera is offline until media flows again; a spill
            # to another volume keeps showing it recording (one reconnection, no gap row).
            self._set_state(RecorderState.CONNECTING, None, "")
        target = self.target
        if target.node is not None and target.fencing_token is not None:
            write_stamp(run_dir, LeaseStamp(target.node, target.fencing_token))
        request = SessionRequest(
            self.camera_id,
            url,
            run_dir,
            self._config.segment_seconds,
            self._config.io_timeout_s,
            live_socket=(
                None
                if self._config.live_dir is None
                else self._config.live_dir / f"{self.camera_id}.main.sock"
            ),
        )
        proc = self._engine.start(request, run, lambda: self._on_output(run))
        return self._follow(proc, run, run_dir, set())

    def _take_over(self, running: RunningSession) -> tuple[OfflineReason, str, int]:
        """Follow a session that outlived the last recorder: same run directory, same media
        timeline; the segments before the one it wrote when found were handled (indexed by
        that recorder, or adopted by this one's reconcile)."""
        log.info("camera %s: recording session taken over from the last recorder", self.camera_id)
        run, run_dir = running.run, running.run_dir
        self._taken_over = run
        self._run, self._killed_for, self._terminated_at = run, None, None
        self._volume, self._spill = split_volume(self._store.relative(run_dir))[0], False
        running.session.bind(lambda: self._on_output(run))
        done = {p.name for p in run_dir.glob("*.mp4") if _sequence(p) < running.first_sequence}
        return self._follow(running.session, run, run_dir, done)

    def _follow(
        self, proc: RecordingSession, run: RunState, run_dir: Path, sealed_names: set[str]
    ) -> tuple[OfflineReason, str, int]:
        self._proc = proc
        if self._killed_for is not None:  # refused before the handle was stored
            proc.kill()
        elif self._stop.is_set():
            proc.terminate()
        sealed, storage_full = self._seal_listed(proc, run, run_dir, sealed_names)
        proc.wait()
        self._adopt_unlisted(run_dir, sealed_names)
        _remove_if_empty(run_dir)  # a refused or failed try leaves no trace on disk
        if storage_full:
            return OfflineReason.STORAGE_FULL, "no space left while sealing", sealed
        if self._killed_for is not None:
            return self._killed_for, self._why_killed(self._killed_for, run), sealed
        reason = classify_exit(list(run.log_tail), run.frames > 0)
        if reason is OfflineReason.UNSUPPORTED_CODEC and any(
            kind == "video" and codec in RECORDABLE_CODECS
            for kind, _, codec in (s.partition(" ") for s in run.input_streams)
        ):
            # A recordable video stream was announced, but ffmpeg gave up probing it (a slow
            # start on a busy machine): a passing fault to retry, not a refusal to back off from.
            return (
                OfflineReason.PROTOCOL_ERROR,
                "the stream's codec parameters did not arrive in time",
                sealed,
            )
        if reason is OfflineReason.UNSUPPORTED_CODEC and run.video is None:
            carried = f" (it carries {', '.join(run.input_streams)})" if run.input_streams else ""
            return reason, f"no video stream{carried}", sealed
        return reason, ended_detail(reason, list(run.log_tail)), sealed

    def _why_killed(self, reason: OfflineReason, run: RunState) -> str:
        if reason is OfflineReason.STALLED:
            return f"no new frame for {self._config.stall_s:.0f} s"
        if reason is OfflineReason.PROTOCOL_ERROR:
            gb = self.target.stream.public.startswith(f"{GB_SCHEME}:")
            what = "no media from the GB/T 28181 device" if gb else "no RTSP stream"
            return f"{what} described within {self._config.connect_s:.0f} s"
        if reason is OfflineReason.STORAGE_FULL:
            return self._below_minimum()
        if reason is OfflineReason.UNSUPPORTED_CODEC and run.video is not None:
            return f"video codec {run.video.codec} is not recorded (H.264 and H.265 only)"
        return ""

    def _below_minimum(self) -> str:
        where = " on every volume" if len(self._store.volumes) > 1 else ""
        return f"free space below the minimum of {self._config.min_free_bytes // 2**20} MiB{where}"

    def _on_output(self, run: RunState) -> None:
        """After each thing the run said: promote to ``recording`` once frames flow; end a run
        whose video cannot be recorded as soon as the input is known."""
        if (
            self._state is not RecorderState.RECORDING
            and run.frames > 0
            and self._killed_for is None
        ):
            self._set_state(RecorderState.RECORDING, None, "")
        video = run.video
        proc = self._proc
        if video and video.codec not in RECORDABLE_CODECS and self._killed_for is None:
            self._killed_for = OfflineReason.UNSUPPORTED_CODEC
            if proc is not None:
                proc.kill()

    def _adopt_unlisted(self, run_dir: Path, sealed_names: set[str]) -> None:
        """ffmpeg ended (stopped, killed or dropped) with a file it never listed: the segment
        in flight. Adopt it now rather than at the next start, so a stopped recorder leaves
        every file indexed (or quarantined when it holds no video)."""
        if not run_dir.exists():
            return
        leftovers = [
            self._store.relative(p)
            for p in sorted(run_dir.glob("*.mp4"))
            if p.name not in sealed_names
        ]
        if leftovers:
            self._adopt(leftovers)

    def _adopt(self, relatives: list[str]) -> None:
        try:
            report = adopt_files(
                self._service, self._store, self._clock, relatives, node=self.target.node
            )
        except Exception:  # the disk's or the database's boundary: tried again at the next run
            log.exception("camera %s: cannot adopt %s yet", self.camera_id, relatives)
            self._unadopted = [r for r in self._unadopted if r not in relatives] + relatives
            return
        earlier = [r for r in self._unadopted if r not in relatives]
        self._unadopted = earlier + report.deferred
        self.sealed += len(report.adopted)

    def _seal_listed(
        self, proc: RecordingSession, run: RunState, run_dir: Path, sealed_names: set[str]
    ) -> tuple[int, bool]:
        anchor = WallClockAnchor(not_before=self._not_before(run))
        sealed = 0
        for listed in proc.listed():
            arrived = self._clock.now()
            if not run.wait_closed(listed.sequence, timeout_s=30):
                log.warning("camera %s: segment %s not closed in time", self.camera_id, listed.name)
            try:
                self._seal_one(listed, run, run_dir, anchor, arrived)
                sealed_names.add(listed.name)
            except TornSegmentError:
                log.warning("camera %s: %s ends torn, adopted instead", self.camera_id, listed.name)
                continue
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    proc.kill()
                    return sealed, True
                log.exception("camera %s: cannot seal %s", self.camera_id, listed.name)
                continue  # left unlisted: adopted when the run ends (or at the next start)
            except Exception:  # the index is unreachable even after retries: same as above
                log.exception("camera %s: cannot index %s", self.camera_id, listed.name)
                continue
            sealed += 1
        return sealed, False

    def _not_before(self, run: RunState) -> datetime | None:
        """On a recorder node, where a run's footage may start: not before the run (its first
        segment can arrive faster than real time), nor before the camera's last indexed
        segment (another node's, just handed over: docs/design/cluster.md)."""
        if self.target.node is None or run is self._taken_over:
            return None  # a run taken over began before this worker: its start is not known
        try:
            last = self._service.last_end(self.camera_id)
        except Exception:  # the database's boundary: the run's start alone
            return run.started_at
        return run.started_at if last is None else max(run.started_at, last)

    def _seal_one(
        self,
        listed: ListedSegment,
        run: RunState,
        run_dir: Path,
        anchor: WallClockAnchor,
        arrived: datetime,
    ) -> None:
        path = run_dir / listed.name
        run_id = run_dir.name
        start, end, drift = anchor.place(listed.media_start, listed.media_end, arrived)
        if abs(drift) > anchor.max_drift.total_seconds():
            log.info("camera %s: wall clock re-anchored (drift %.2f s)", self.camera_id, drift)
        found = fmp4.scan(path)
        if found.torn or not found.has_media:
            raise TornSegmentError(listed.name)
        done = self._store.seal(path)
        duration = max(0.0, listed.media_end - listed.media_start)
        video = run.video
        self._indexer.index(
            Segment(
                node=self.target.node,
                fencing_token=self.target.fencing_token,
                id=None,
                camera_id=self.camera_id,
                run_id=run_id,
                sequence=listed.sequence,
                path=self._store.relative(path),
                start_at=start,
                end_at=end,
                duration_s=duration,
                bytes=done.bytes,
                sha256=done.sha256,
                codec=video.codec if video else "",
                width=video.width if video else None,
                height=video.height if video else None,
                sealed_at=self._clock.now(),
                clock_drift_s=round(drift, 3),
            )
        )
        self.sealed += 1
        if duration > 0:
            self._bitrate_kbps = done.bytes * 8 / duration / 1000

    def _set_state(self, state: RecorderState, reason: OfflineReason | None, detail: str) -> None:
        if (state, reason) != (self._state, self._reason):
            self._since = self._clock.now()
            log.info("camera %s: %s %s", self.camera_id, state, reason or "")
        self._state, self._reason, self._detail = state, reason, detail

    def _go_offline(self, reason: OfflineReason, detail: str) -> None:
        self._set_state(RecorderState.OFFLINE, reason, detail)
        try:
            self._service.open_gap(self.camera_id, self._clock.now(), reason, detail)
        except Exception:  # the database's boundary: the hole shows in the index all the same
            log.exception("camera %s: cannot write the gap row (%s)", self.camera_id, reason)


def _sequence(path: Path) -> int:
    stem = path.name.removesuffix(".mp4")
    return int(stem) if stem.isdigit() else -1


def _remove_if_empty(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        remove_stamp(run_dir)  # not empty (or already gone): nothing to do
        run_dir.rmdir()
