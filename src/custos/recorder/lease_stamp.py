"""The ``.lease`` file of a run directory (docs/design/cluster.md, "Fencing"): which node
recorded the run and under which lease token, so that a file adopted after a crash is fenced
like one sealed in the run."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

STAMP = ".lease"


@dataclass(frozen=True)
class LeaseStamp:
    node: str
    fencing_token: int


def write_stamp(run_dir: Path, stamp: LeaseStamp) -> None:
    """Written (and fsynced) before the engine starts, so every file of the run has one."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / STAMP
    with path.open("w", encoding="utf-8") as f:
        json.dump({"node": stamp.node, "fencing_token": stamp.fencing_token}, f)
        f.flush()
        os.fsync(f.fileno())


def read_stamp(run_dir: Path) -> LeaseStamp | None:
    """The run's stamp; None for a one-machine recorder's run (or an unreadable stamp, which
    then indexes like one: the stamp is written before the first byte of video)."""
    try:
        data = json.loads((run_dir / STAMP).read_text(encoding="utf-8"))
        return LeaseStamp(str(data["node"]), int(data["fencing_token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_stamp(run_dir: Path) -> None:
    """Once no video file is left in the run directory (it can then be removed)."""
    if not any(run_dir.glob("*.mp4")):
        (run_dir / STAMP).unlink(missing_ok=True)
