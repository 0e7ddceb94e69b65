"""Moves this Python process's wall clock by $CUSTOS_TEST_CLOCK_OFFSET_S seconds (time-machine).

`scripts/test-at` puts this folder on PYTHONPATH, so pytest and every Python process it starts
(the recorder, its shards, `custos` commands) read the same moved wall clock, ticking from there.
Monotonic clocks are not moved, so time-outs and watchdogs behave. A process without
time-machine (Debian's python3 running the simulated cameras) keeps the real clock: it stamps
no regulation dates. See docs/design/time.md, "Tests".
"""

from __future__ import annotations

import os
import time

_offset = os.environ.get("CUSTOS_TEST_CLOCK_OFFSET_S")
if _offset:
    try:
        import time_machine
    except ImportError:
        pass
    else:
        time_machine.travel(time.time() + float(_offset), tick=True).start()
