"""Child processes that die with their parent (kill -9 included), via Linux PR_SET_PDEATHSIG."""

from __future__ import annotations

import ctypes
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def dies_with_parent(sig: signal.Signals) -> Callable[[], None]:
    """A ``preexec_fn``: the kernel sends ``sig`` to the child when the spawning thread ends.

    Spawn from a thread that lives as long as the child should (not a short-lived helper).
    """

    def arm() -> None:  # pragma: no cover - runs in the child between fork and exec
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))

    return arm
