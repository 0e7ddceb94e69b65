"""Shared by the tests that watch child processes: whether one still runs, and a process's
children."""

from __future__ import annotations

import subprocess
from pathlib import Path


def alive(pid: int) -> bool:
    """Running: a zombie has exited, only its parent's wait is missing, so it is not."""
    try:
        # "pid (comm) state …": comm may hold spaces and parentheses, so split after the last ')'.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` now."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]
