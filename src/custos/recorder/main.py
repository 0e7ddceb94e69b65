"""Start the recorder from settings: ``custos recorder`` and the child process of ``custos serve``."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.recorder.camera_worker import RecorderConfig
from custos.recorder.metrics import RecorderMetrics
from custos.recorder.supervisor import RecorderLock, Supervisor

log = logging.getLogger(__name__)


def run_recorder(container: Container, stop: threading.Event | None = None) -> None:
    """Record until SIGTERM/SIGINT (or ``stop``); one recorder per data directory."""
    settings = container.settings
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("recorder: signal %d, finishing the segments in flight", signum)
            stop.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    if not RecorderLock(settings.data_dir / "recorder.lock").acquire(stop):
        return
    metrics = RecorderMetrics()
    if settings.recorder_metrics_port:
        try:
            metrics.serve(settings.recorder_metrics_host, settings.recorder_metrics_port)
        except OSError as exc:  # recording matters more than its metrics
            log.error(
                "recorder metrics not served on port %d: %s", settings.recorder_metrics_port, exc
            )
    supervisor = Supervisor(
        container.recording,
        SegmentStore(settings.resolved_media_dir()),
        RecorderConfig(segment_seconds=settings.segment_seconds),
        container.clock,
        metrics,
    )
    supervisor.run(stop)
