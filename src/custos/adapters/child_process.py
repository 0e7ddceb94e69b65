"""Child processes that never outlive Custos (docs/design/first-hour.md, "Children die with
their parent"): the kernel kills them when the thread that started them ends (Linux
``PR_SET_PDEATHSIG``, so a SIGKILL of Custos included), and a run with a time-out is killed
when the time is up."""

from __future__ import annotations

import ctypes
import signal
import subprocess
from collections.abc import Callable, Sequence

_PR_SET_PDEATHSIG = 1


def dies_with_parent(sig: signal.Signals) -> Callable[[], None]:
    """A ``preexec_fn``: the kernel sends ``sig`` to the child when the spawning thread ends.

    Spawn from a thread that lives as long as the child should (not a short-lived helper).
    """

    def arm() -> None:  # pragma: no cover - runs in the child between fork and exec
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))

    return arm


def run_to_end(argv: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` to its end from the calling thread, which waits for it: the child gets
    SIGKILL if this process dies first, and is killed (and reaped) after ``timeout_s`` seconds,
    which raises :class:`TimeoutError`. Output is captured; the exit status is not judged."""
    try:
        return subprocess.run(  # noqa: S603 - argv comes from our own adapters
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
            timeout=timeout_s,
            preexec_fn=dies_with_parent(signal.SIGKILL),
        )
    except subprocess.TimeoutExpired as exc:  # run() has killed and reaped the child
        raise TimeoutError(f"{argv[0]} took over {timeout_s:g} s and was killed") from exc
