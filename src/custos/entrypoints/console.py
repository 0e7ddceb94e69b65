"""Commands Custos prints for its user to run: complete, so that they work as printed."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def command_line(*args: str | Path) -> str:
    """``custos ARGS`` as this installation runs it: the ``custos`` script beside the interpreter
    (``.venv/bin/custos``), else ``python -m custos``; paths absolute; shell-quoted."""
    script = Path(sys.executable).parent / "custos"
    program = [str(script)] if script.is_file() else [sys.executable, "-m", "custos"]
    words = [str(a.resolve()) if isinstance(a, Path) else a for a in args]
    return shlex.join([*program, *words])
