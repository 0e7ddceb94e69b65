"""Reads the shipped GB/T 2260 table (``custos/data/gb2260.csv``) once per process."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from custos.domain.divisions import Division, DivisionTable


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@cache
def division_table() -> DivisionTable:
    text = resources.files("custos").joinpath("data/gb2260.csv").read_text("utf-8")
    lines = text.splitlines()
    source = " ".join(line.lstrip("# ").strip() for line in lines if line.startswith("#"))
    rows = csv.DictReader(line for line in lines if not line.startswith("#"))
    return DivisionTable.of(
        (
            Division(r["code"], r["name"], _float(r["longitude"]), _float(r["latitude"]))
            for r in rows
        ),
        source,
    )
