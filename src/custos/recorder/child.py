"""The recorder as a child process of ``custos serve``: restarted if it dies, stopped with serve.

Separate processes, so a recorder crash never takes the API down and an API crash never stops
recording mid-segment (the recorder finishes on SIGTERM; its lock keeps a second one from starting).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from pathlib import Path

from custos.recorder.lifeline import dies_with_parent

log = logging.getLogger(__name__)


class RecorderChild:
    def __init__(self, data_dir: Path, segment_seconds: int, restart_delay_s: float = 2.0) -> None:
        self._argv = [sys.executable, "-m", "custos", "recorder", "--data-dir", str(data_dir)]
        self._argv += ["--segment-seconds", str(segment_seconds)]
        self._delay = restart_delay_s
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(
            target=self._keep_running, name="recorder-child", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def _keep_running(self) -> None:
        while not self._stop.is_set():
            # Its own session: a Ctrl-C on the terminal reaches serve, which stops it in order.
            # If serve dies, the recorder gets SIGTERM: it seals what is in flight and exits.
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                self._argv, start_new_session=True, preexec_fn=dies_with_parent(signal.SIGTERM)
            )
            code = self._proc.wait()
            if not self._stop.is_set():
                log.error("recorder exited with %s; restarting in %.0f s", code, self._delay)
                self._stop.wait(self._delay)

    def stop(self, grace_s: float = 20.0) -> None:
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._thread.join(grace_s)
