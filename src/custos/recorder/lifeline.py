"""What keeps a recorder process healthy for months: children that die with their parent (kill -9
included, via Linux PR_SET_PDEATHSIG), and a heap the cyclic collector does not rescan."""

from __future__ import annotations

import ctypes
import gc
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


def settle_heap() -> None:
    """For a long-running recorder process, once its imports and set-up are done: everything
    allocated so far (SQLAlchemy, the app's modules, PyAV) lives as long as the process, so it is
    moved out of the cyclic collector's reach (``gc.freeze``), and young collections run less
    often. Measured with perf on a recorder of 100 cameras: the collector's traversals were 17 %
    of its CPU, scanning that permanent heap again and again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
