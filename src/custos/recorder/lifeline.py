"""What keeps a recorder process healthy for months: children that die with their parent (kill -9
included, via Linux PR_SET_PDEATHSIG), and a heap the cyclic collector does not rescan."""

from __future__ import annotations

import gc

from custos.adapters.child_process import dies_with_parent

__all__ = ["dies_with_parent", "settle_heap"]


def settle_heap() -> None:
    """For a long-running recorder process, once its imports and set-up are done: everything
    allocated so far (SQLAlchemy, the app's modules, PyAV) lives as long as the process, so it is
    moved out of the cyclic collector's reach (``gc.freeze``), and young collections run less
    often. Measured with perf on a recorder of 100 cameras: the collector's traversals were 17 %
    of its CPU, scanning that permanent heap again and again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
