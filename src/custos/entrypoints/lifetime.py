"""A Custos process's children die with it (docs/design/first-hour.md, "Children die with their
parent"): SIGTERM unwinds the main thread so that ``finally`` blocks stop the children in order;
``PR_SET_PDEATHSIG`` (:func:`custos.recorder.lifeline.dies_with_parent`) covers SIGKILL."""

from __future__ import annotations

import signal
from types import FrameType


def exit_on_sigterm() -> None:
    """From now on SIGTERM raises ``SystemExit(0)`` in the main thread (uvicorn, which handles the
    signal while it serves, restores this handler and re-raises the signal when it has stopped)."""

    def _exit(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)
