"""The checkpoint file: a witness of the operation log's checkpoints outside the database
(docs/design/evidence.md, "Witnessed checkpoints").

One line per checkpoint, appended (``O_APPEND``, one ``write`` per line) and fsynced; the
directory is fsynced when the file is created. Custos never rewrites or truncates the file. A
line left short by a crash stays as it is; the next one starts on a line of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from custos.domain.audit_chain import Checkpoint
from custos.domain.audit_witness import (
    MAX_LINE,
    MalformedWitnessError,
    Refused,
    Witnessed,
    parse_witness_line,
    witness_line,
)
from custos.services.audit_witness import WitnessUnavailableError

WITNESS_FILE = "audit-checkpoints.jsonl"
_TAIL = 64 * 1024  # bytes read from the end to find the newest checkpoint held


class CheckpointFile:
    """Appends each checkpoint it is given to ``<dir>/audit-checkpoints.jsonl``."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / WITNESS_FILE

    @property
    def name(self) -> str:
        return f"file {self.path}"

    def witnessed_size(self) -> int:
        try:
            with self.path.open("rb") as f:
                end = f.seek(0, os.SEEK_END)
                f.seek(max(0, end - _TAIL))
                tail = f.read()
                if end > _TAIL:
                    tail = tail.split(b"\n", 1)[-1]  # the first line may be cut
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise WitnessUnavailableError(f"cannot read {self.path}: {exc}") from exc
        sizes = [cp.tree_size for _, cp in _checkpoints(tail.split(b"\n"))]
        if not sizes and end > _TAIL:
            return max((w.checkpoint.tree_size for w in self._all()), default=0)
        return max(sizes, default=0)

    def _all(self) -> Iterator[Witnessed]:
        found, _ = read_witness_file(self.path)
        return iter(found)

    def witness(self, cp: Checkpoint) -> None:
        line = witness_line(cp)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                end = os.fstat(fd).st_size
                if end and os.pread(fd, 1, end - 1) != b"\n":
                    line = b"\n" + line  # a line cut short by a crash stays alone
                if os.write(fd, line) != len(line):
                    raise OSError(f"short write to {self.path}")
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.path.parent)
        except OSError as exc:
            raise WitnessUnavailableError(f"cannot append to {self.path}: {exc}") from exc


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _checkpoints(lines: list[bytes]) -> Iterator[tuple[int, Checkpoint]]:
    for number, line in enumerate(lines, 1):
        try:
            yield number, parse_witness_line(line)
        except MalformedWitnessError:
            continue


class WitnessFiles:
    """Witnessed checkpoints read back from files, or from every ``*.jsonl`` in directories."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = list(paths)

    def read(self) -> tuple[list[Witnessed], list[Refused]]:
        found: list[Witnessed] = []
        refused: list[Refused] = []
        for path in self._files():
            more, bad = read_witness_file(path)
            found += more
            refused += bad
        return found, refused

    def _files(self) -> list[Path]:
        files: list[Path] = []
        for path in self._paths:
            if path.is_dir():
                inside = sorted(p for p in path.glob("*.jsonl") if p.is_file())
                if not inside:
                    raise WitnessUnavailableError(f"{path}: no witness files (*.jsonl) in it")
                files += inside
            elif path.is_file():
                files.append(path)
            else:
                raise WitnessUnavailableError(f"{path}: no such witness file or directory")
        return files


def read_witness_file(path: Path) -> tuple[list[Witnessed], list[Refused]]:
    """Every line of a witness file: a checkpoint, or refused naming the line (blank lines
    are skipped); WitnessUnavailableError when the file cannot be read."""
    found: list[Witnessed] = []
    refused: list[Refused] = []
    try:
        with path.open("rb") as f:
            number = 0
            while True:
                line = f.readline(MAX_LINE + 2)
                if not line:
                    break
                number += 1
                where = f"{path} line {number}"
                if not line.endswith(b"\n") and len(line) > MAX_LINE:
                    while (more := f.readline(1 << 16)) and not more.endswith(b"\n"):
                        pass  # skip the rest of an overlong line
                if not line.strip():
                    continue
                try:
                    found.append(Witnessed(parse_witness_line(line.rstrip(b"\r\n")), where))
                except MalformedWitnessError as exc:
                    refused.append(Refused(where, f"not a checkpoint: {exc}"))
    except OSError as exc:
        raise WitnessUnavailableError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return found, refused
