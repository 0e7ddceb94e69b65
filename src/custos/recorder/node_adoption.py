"""Which sessions a restarted recorder node takes over (docs/design/recording.md, "Shards outlive
their supervisor", recorder nodes): only its own, under the token it still holds; the others are
told to stop and their closed files reconciled under their ``.lease`` stamps."""

from __future__ import annotations

import logging
import threading

from custos.adapters.storage.segment_files import SegmentStore
from custos.domain.clock import Clock
from custos.recorder.lease_stamp import LeaseStamp, read_stamp
from custos.recorder.port import RunningSession
from custos.recorder.reconcile import adopt_files
from custos.services.recording import RecordingService

log = logging.getLogger(__name__)


def is_own(running: RunningSession, node: str, token: int | None) -> bool:
    """The session records under this node's name and the token it holds for the camera now."""
    return token is not None and read_stamp(running.run_dir) == LeaseStamp(node, token)


def quit_and_reconcile(
    running: RunningSession,
    service: RecordingService,
    store: SegmentStore,
    clock: Clock,
    node: str,
) -> threading.Thread:
    """Tell the session to stop; once it has closed its segment, adopt the files it wrote that
    nobody indexed (the fence, by their stamp, decides whether each is kept or refused)."""
    log.info(
        "camera %s: the running session is not this node's to adopt; it stops", running.camera_id
    )
    running.session.terminate()

    def _after() -> None:
        running.session.wait()
        try:
            indexed = {s.path for s in service.indexed(node)}
            files = [
                store.relative(p)
                for p in sorted(running.run_dir.glob("*.mp4"))
                if _sequence(p.name) >= running.first_sequence
            ]
            adopt_files(service, store, clock, [f for f in files if f not in indexed], node=node)
        except Exception:  # the database's boundary: the next start's reconcile adopts them
            log.exception(
                "camera %s: cannot reconcile the stopped session's files", running.camera_id
            )

    thread = threading.Thread(target=_after, name=f"quit-{running.camera_id}", daemon=True)
    thread.start()
    return thread


def _sequence(name: str) -> int:
    stem = name.removesuffix(".mp4")
    return int(stem) if stem.isdigit() else -1
