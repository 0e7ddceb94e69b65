"""What ``bench/ingest.py`` reads from /proc: CPU time and PSS of process trees, machine load."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    comm: str
    cpu_ticks: int  # utime + stime + cutime + cstime: itself and the children it has reaped
    own_ticks: int  # utime + stime


def read_stat(pid: int) -> ProcStat | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17
    own = int(rest[11]) + int(rest[12])
    return ProcStat(pid, int(rest[1]), comm, own + int(rest[13]) + int(rest[14]), own)


def all_stats() -> dict[int, ProcStat]:
    out = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            st = read_stat(int(entry.name))
            if st is not None:
                out[st.pid] = st
    return out


def tree(root: int, stats: dict[int, ProcStat] | None = None) -> list[ProcStat]:
    """``root`` and all its live descendants."""
    stats = stats if stats is not None else all_stats()
    children: dict[int, list[int]] = {}
    for st in stats.values():
        children.setdefault(st.ppid, []).append(st.pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            out.append(stats[pid])
        todo.extend(children.get(pid, []))
    return out


def cpu_seconds(procs: Iterable[ProcStat]) -> float:
    """CPU time of these processes and of their children already reaped.

    Summed over a whole tree this only grows: a child that exits moves into its parent's
    cutime/cstime when reaped, so the difference of two readings is the tree's CPU between them."""
    return sum(p.cpu_ticks for p in procs) / CLK_TCK


def pss_bytes(pids: Iterable[int]) -> int:
    """The sum of the processes' proportional set sizes (shared pages split between sharers)."""
    total = 0
    for pid in pids:
        try:
            text = (PROC / str(pid) / "smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
                break
    return total


@dataclass(frozen=True)
class MachineCpu:
    busy_s: float
    iowait_s: float
    total_s: float


def machine_cpu() -> MachineCpu:
    """Busy and total CPU seconds of the whole machine since boot, all cores."""
    fields = [int(x) for x in (PROC / "stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields)
    return MachineCpu((total - idle) / CLK_TCK, fields[4] / CLK_TCK, total / CLK_TCK)


def loadavg() -> tuple[float, float, float]:
    a, b, c = (PROC / "loadavg").read_text().split()[:3]
    return float(a), float(b), float(c)
