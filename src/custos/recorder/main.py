"""Start the recorder from settings: ``custos recorder`` and the child process of ``custos serve``."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
from collections.abc import Mapping
from types import FrameType

from custos.adapters.sip.media_control import MediaControlClient, socket_path
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.config import Settings
from custos.domain.clock import Clock
from custos.domain.cluster import LEASE_TTL_S
from custos.recorder.camera_worker import RecorderConfig
from custos.recorder.engines.gb28181 import GbEngine
from custos.recorder.engines.pyav import ShardPool
from custos.recorder.leases import LeaseKeeper
from custos.recorder.lifeline import settle_heap
from custos.recorder.metrics import RecorderMetrics
from custos.recorder.node_duties import NodeDuties
from custos.recorder.node_instance import kept_instance
from custos.recorder.node_media import start_node_media
from custos.recorder.port import RecordingEngine, RunningSession
from custos.recorder.recorder_lock import RecorderLock
from custos.recorder.supervisor import Supervisor, configured_engine
from custos.services.recorder_leases import NodeIdentity, RecorderLeases
from custos.services.storage_watch import StorageFullAlarm, VolumeSpillAlarm

log = logging.getLogger(__name__)


MIN_FREE_ENV = "CUSTOS_RECORDER_MIN_FREE_MB"
ORPHAN_ENV = "CUSTOS_RECORDER_ORPHAN_S"
ORPHAN_S = 30.0


def orphan_s(environ: Mapping[str, str], node: bool) -> float:
    """How long a recording shard records on once no recorder is attached
    (``CUSTOS_RECORDER_ORPHAN_S``, seconds, default 30; a recorder node's at most half the lease
    TTL, so that it has stopped before any successor's grant)."""
    text = environ.get(ORPHAN_ENV, "").strip()
    try:
        seconds = float(text) if text else ORPHAN_S
    except ValueError:
        raise SystemExit(f"{ORPHAN_ENV} must be a number of seconds, not {text!r}") from None
    if not seconds > 0:
        raise SystemExit(f"{ORPHAN_ENV} must be positive")
    return min(seconds, LEASE_TTL_S / 2) if node else seconds


def min_free_bytes(environ: Mapping[str, str]) -> int:
    """The free space (``CUSTOS_RECORDER_MIN_FREE_MB``, MiB, default 256) below which the
    recorder stops writing and shows ``storage_full``; read once at start-up."""
    text = environ.get(MIN_FREE_ENV, "").strip()
    if not text:
        return RecorderConfig.min_free_bytes
    try:
        mib = int(text)
    except ValueError:
        raise SystemExit(f"{MIN_FREE_ENV} must be a whole number of MiB, not {text!r}") from None
    if mib < 0:
        raise SystemExit(f"{MIN_FREE_ENV} must not be negative")
    return mib * 2**20


def gb_engine(settings: Settings, inner: RecordingEngine) -> GbEngine | None:
    """With GB/T 28181 on, the engine for ``gb28181://`` channels: INVITEs through the SIP
    server of ``custos serve`` (its media control socket), and records through ``inner``."""
    if not settings.gb_enabled:
        return None
    return GbEngine(
        inner=inner,
        signalling=MediaControlClient(socket_path(settings.data_dir)),
        media_host=settings.gb_media_host,
        ports=range(settings.gb_media_port_min, settings.gb_media_port_max + 1),
    )


def lease_keeper(container: Container, me: NodeIdentity) -> LeaseKeeper:
    """A recorder node's leases (docs/design/cluster.md): PostgreSQL only."""
    if container.engine.dialect.name != "postgresql":
        raise SystemExit(
            f"recorder node {me.name}: a recorder node needs PostgreSQL (CUSTOS_DATABASE_URL); "
            "SQLite is one machine's database: run `custos recorder` without --node"
        )
    service = RecorderLeases(container.uow, container.clock)
    recording = container.recording
    return LeaseKeeper(service, me, recording.camera_ids_to_record)


def recorder_config(settings: Settings, node: bool) -> RecorderConfig:
    return RecorderConfig(
        segment_seconds=settings.segment_seconds,
        min_free_bytes=min_free_bytes(os.environ),
        engine=settings.recorder_engine,
        cameras_per_shard=settings.recorder_shard_cameras,
        shard_dir=settings.data_dir / "shards",
        live_dir=settings.resolved_live_dir(),
        orphan_s=orphan_s(os.environ, node),
    )


@dataclasses.dataclass(frozen=True)
class HeldDirectory:
    """What a recorder node takes before it touches the database (docs/design/cluster.md, "A
    node restarted on its own data directory is the same instance"): the data directory's lock,
    the instance id kept there, and its shards re-attached, so that they do not reach their
    orphan limit while the node starts."""

    lock: RecorderLock
    node: NodeIdentity
    config: RecorderConfig
    engine: RecordingEngine
    running: list[RunningSession]


def hold_node_directory(settings: Settings, node: NodeIdentity, clock: Clock) -> HeldDirectory:
    """Refused at once (one line) while another recorder holds the directory's lock."""
    lock = RecorderLock(settings.data_dir / "recorder.lock")
    if not lock.try_acquire():
        raise SystemExit(
            f"recorder node {node.name}: another recorder holds {lock.path}"
            " (one recorder per data directory); stop it or give this one another --data-dir"
        )
    node = dataclasses.replace(node, instance=kept_instance(settings.data_dir, node.name))
    config = recorder_config(settings, node=True)
    engine = configured_engine(config)
    running = engine.reattach(clock) if isinstance(engine, ShardPool) else []
    return HeldDirectory(lock, node, config, engine, running)


def run_recorder(
    container: Container,
    stop: threading.Event | None = None,
    node: NodeIdentity | None = None,
    held: HeldDirectory | None = None,
) -> None:
    """Record until SIGTERM/SIGINT (or ``stop``); one recorder per data directory. With
    ``node``, as one recorder node of a cluster: only the cameras it leases (``held``: its data
    directory, taken before the database was, :func:`hold_node_directory`)."""
    settings = container.settings
    if node is not None and container.engine.dialect.name != "postgresql":
        lease_keeper(container, node)  # refuses, naming the rule
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("recorder: signal %d, finishing the segments in flight", signum)
            stop.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    if node is not None:
        held = held or hold_node_directory(settings, node, container.clock)
        node, lock = held.node, held.lock
    else:  # kept referenced until the end: a lock object collected would drop the lock
        lock = RecorderLock(settings.data_dir / "recorder.lock")
        if not lock.acquire(stop):
            return
    media_server = start_node_media(settings, node, container.clock) if node else None
    if node is not None and media_server is not None:  # the real port when it asked for :0
        node = dataclasses.replace(node, address=media_server.address)
    keeper = lease_keeper(container, node) if node is not None else None
    duties = NodeDuties(container, node.name) if node is not None else None
    metrics = RecorderMetrics()
    if settings.recorder_metrics_port:
        try:
            metrics.serve(settings.recorder_metrics_host, settings.recorder_metrics_port)
        except OSError as exc:  # recording matters more than its metrics
            log.error(
                "recorder metrics not served on port %d: %s", settings.recorder_metrics_port, exc
            )
    store = SegmentStore(settings.resolved_media_dir(), settings.media_volumes)
    try:
        store.claim_volumes()
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    config = held.config if held is not None else recorder_config(settings, node=False)
    engine = held.engine if held is not None else configured_engine(config)
    supervisor = Supervisor(
        container.recording,
        store,
        config,
        container.clock,
        metrics,
        storage_alarm=StorageFullAlarm(container.alarms),
        spill_alarm=VolumeSpillAlarm(container.alarms, [str(v) for v in store.volumes]),
        engine=engine,
        gb_engine=gb_engine(settings, engine),
        leases=keeper,
        running=held.running if held is not None else None,
    )
    settle_heap()
    if duties is not None:
        duties.start()
    try:
        supervisor.run(stop)
    finally:
        if duties is not None:
            duties.stop()
        if media_server is not None:
            media_server.stop()
        lock.release()
