"""Timed duties of a running server: sign the operation log's tail when its time has come
(checkpoints every N entries *or* T seconds, also when no one writes); lapse access requests
past their expiry (which also lifts the footage freeze they held); project storage against the
retention floors; scrub segments' hashes; purge footage past retention. With an object store
configured, a second thread (``offloader``) uploads sealed segments not yet in it, so a slow
store never delays the duties above. A third thread (``notifier``) sends alarm deliveries and
escalates unacknowledged alarms every second, so a slow channel never delays the rest. A fourth
(``clocks``) measures the ONVIF cameras' clocks hourly: a camera that does not answer takes the
client's timeout, which must never delay the camera-offline alarms of the main tick. A fifth
(``witness``) hands each signed checkpoint of the operation log to the witnesses outside the
database as soon as it is committed, so a slow object store never delays a writer. A sixth
(``publications``) runs the masking jobs of copies for publication (detection, rendering), one
at a time: an hour of video must never delay the rest.

On several servers (PostgreSQL) each thread's pass runs only where its duty lease is held
(``services.duty_leases``, docs/design/cluster.md "Timed duties"): one server at a time. The
files' duties here (offload, scrub, the purge's unlinking) are the one-machine recorder's; a
recorder node does its own (``custos.recorder.node_duties``)."""

from __future__ import annotations

import logging
import threading
from collections import Counter

from custos.bootstrap import Container
from custos.domain.duty_leases import Duty
from custos.services.duty_leases import DutyLeases
from custos.services.publication_jobs import PublicationJobs

log = logging.getLogger(__name__)


class Housekeeper:
    STORAGE_EVERY = 12  # ticks: once a minute at 5 s
    SCRUB_EVERY = 120  # every 10 minutes, a batch of segments re-hashed
    CLOCK_EVERY = 720  # ticks' worth: hourly, on its own thread, the ONVIF camera clocks not
    # measured for a day (issue 14 §3)
    PURGE_EVERY = 720  # hourly

    def __init__(
        self, container: Container, every_s: float = 5.0, leases: DutyLeases | None = None
    ) -> None:
        self._c = container
        self._leases = leases or container.duty_leases
        self.passes: Counter[str] = Counter()  # passes begun here, per duty
        self._ticks = 0
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="housekeeper", daemon=True)
        self._offloader = threading.Thread(target=self._offload_loop, name="offloader", daemon=True)
        # video quality diagnosis decodes keyframes: its own thread, so it never delays the rest
        self._diagnosis = threading.Thread(
            target=self._diagnosis_loop, name="diagnosis", daemon=True
        )
        self._notifier = threading.Thread(target=self._notify_loop, name="notifier", daemon=True)
        self._clocks = threading.Thread(target=self._clock_loop, name="clocks", daemon=True)
        # hands signed checkpoints to the witnesses outside the database (docs/design/evidence.md)
        self._witness = threading.Thread(target=self._witness_loop, name="witness", daemon=True)
        self.publication_jobs = PublicationJobs(container.publications)
        self._publications = threading.Thread(
            target=self._publication_loop, name="publications", daemon=True
        )

    def start(self) -> None:
        self._leases.start()  # claims at once: a lone server runs its first passes
        self._thread.start()
        self._diagnosis.start()
        self._notifier.start()
        self._clocks.start()
        self._publications.start()
        if self._c.witnesses is not None:
            self._witness.start()
        if self._c.offload is not None:
            self._offloader.start()

    def _holds(self, duty: Duty) -> bool:
        """May this server run a pass of ``duty`` now (its lease is held here)? Counted."""
        if not self._leases.held(duty):
            return False
        self.passes[duty] += 1
        return True

    def stop(self, release: bool = True) -> None:
        """Stop every thread, then release the duty leases (``release`` false: leave them to
        expire, as a server that died would)."""
        self._stop.set()
        self._thread.join(10)
        if self._diagnosis.is_alive():
            self._diagnosis.join(30)
        if self._offloader.is_alive():
            self._offloader.join(30)
        if self._notifier.is_alive():
            self._notifier.join(30)
        if self._clocks.is_alive():
            self._clocks.join(30)
        if self._publications.is_alive():
            self._publications.join(30)
        if self._witness.is_alive():
            assert self._c.witnesses is not None
            self._c.witnesses.wake()
            self._witness.join(30)
        self._leases.stop(release)

    def notify_tick(self) -> int:
        """Route new alarms to their first level, escalate what waited too long, then send the
        due deliveries (the alarm outbox, docs/design/operations.md); return how many were sent."""
        self._c.delivery.route_new()
        self._c.delivery.escalate_due()
        return self._c.delivery.send_due()

    def _notify_loop(self) -> None:
        every_s = self._c.settings.notify_every_s
        while not self._stop.wait(every_s):
            if not self._holds(Duty.NOTIFIER):
                continue
            try:
                self.notify_tick()
            except Exception:  # the timer's boundary: a failed pass must not end the notifier
                log.exception("notifier pass failed")

    def _clock_loop(self) -> None:
        wait = self._every_s  # the first pass soon after start, as the main tick's first
        while not self._stop.wait(wait):
            if not self._holds(Duty.CLOCKS):
                wait = self._every_s  # asked again soon: the lease may come here
                continue
            wait = self.CLOCK_EVERY * self._every_s
            try:
                self._c.camera_time.check_due()  # each camera at most once a day
            except Exception:  # the timer's boundary: a failed pass must not end the timer
                log.exception("camera clock pass failed")

    def _witness_loop(self) -> None:
        """A pass as soon as a commit signed a checkpoint, and every tick's time anyway (which
        also retries a witness that failed and picks up other processes' checkpoints)."""
        witnesses = self._c.witnesses
        assert witnesses is not None
        while not self._stop.is_set():
            if not self._holds(Duty.WITNESS):
                self._stop.wait(self._every_s)
                continue
            try:
                witnesses.hand_over()  # a failing witness is logged by the service
            except Exception:  # the timer's boundary: a failed pass must not end the thread
                log.exception("witness pass failed")
            witnesses.wait_for_checkpoint(self._every_s)

    def _publication_loop(self) -> None:
        """The waiting masking jobs, one at a time, while the lease is held here (a job stops
        at its next progress report once the lease or the housekeeper is gone)."""
        jobs = self.publication_jobs

        def held() -> bool:
            return not self._stop.is_set() and self._leases.held(Duty.PUBLICATIONS)

        while not self._stop.wait(self._every_s):
            if not self._holds(Duty.PUBLICATIONS):
                continue
            try:
                jobs.run_pending(held)
            except Exception:  # the timer's boundary: a failed pass must not end the thread
                log.exception("publication jobs pass failed")

    def _diagnosis_loop(self) -> None:
        every_s = min(5.0, float(self._c.settings.diagnosis_every_s))
        while not self._stop.wait(every_s):
            if not self._holds(Duty.DIAGNOSIS):
                continue
            try:
                self._c.diagnosis.tick()  # each camera at most once per diagnosis_every_s
            except Exception:  # the timer's boundary: a failed pass must not end the sampler
                log.exception("diagnosis pass failed")

    def offload_tick(self, batch: int = 50) -> int:
        """Upload sealed segments not yet in the object store, batch by batch, until none is
        left or the housekeeper stops; return how many were uploaded."""
        offload = self._c.offload
        if offload is None:
            return 0
        total = 0
        while not self._stop.is_set():
            report = offload.run_once(batch)
            total += len(report.uploaded)
            if len(report.uploaded) < batch:  # the rest failed or were skipped: next time
                break
        return total

    def _offload_loop(self) -> None:
        every_s = self._c.settings.s3_offload_every_s
        while not self._stop.wait(every_s):
            if not self._holds(Duty.OFFLOAD):
                continue
            try:
                uploaded = self.offload_tick()
                if uploaded:
                    log.info("%d segment(s) uploaded to the object store", uploaded)
            except Exception:  # the timer's boundary: a store outage must not end the timer
                log.exception("offload pass failed")

    def tick(self) -> None:
        self._ticks += 1
        self._c.audit.checkpoint_if_due()
        self._c.alarm_watch.tick()  # cameras offline, gaps, overdue repairs, interruptions
        expired = self._c.requests.expire_due()
        if expired:
            log.info("%d access request(s) expired", expired)
        if self._ticks % self.STORAGE_EVERY == 1:
            self._c.storage.check()
        if self._ticks % self.SCRUB_EVERY == 1:
            self._c.scrubber.run()
        if self._ticks % self.PURGE_EVERY == 1:
            report = self._c.retention.purge()
            if report.deleted:
                log.info("purged %d segment(s), %d bytes", len(report.deleted), report.bytes)

    def _loop(self) -> None:
        while not self._stop.wait(self._every_s):
            if not self._holds(Duty.HOUSEKEEPING):
                continue
            try:
                self.tick()
            except Exception:  # the timer's boundary: one failed tick must not end the timer
                log.exception("housekeeping tick failed")
