"""``custos divisions``: the shipped GB/T 2260 table (docs/design/filing.md D1)."""

from __future__ import annotations

import click

from custos.entrypoints.cli.options import CannotRun


@click.group()
def divisions() -> None:
    """The GB/T 2260 division table filings are addressed by."""


@divisions.command("info")
def divisions_info() -> None:
    """Where the table comes from, its date and its size."""
    from custos.bootstrap import division_table

    table = division_table()
    levels = [d.level for d in table.by_code.values()]
    click.echo(table.source)
    click.echo(
        f"{levels.count('province')} provinces, {levels.count('city')} cities, "
        f"{levels.count('county')} county-level divisions"
    )


@divisions.command("show")
@click.argument("code")
def divisions_show(code: str) -> None:
    """A division: its full name, the organ that receives its filings, its sub-divisions."""
    from custos.bootstrap import division_table
    from custos.domain.filing_recipient import filing_recipient

    table = division_table()
    found = table.lookup(code) if len(code) == 6 and code.isdigit() else None
    if found is None:
        raise CannotRun(f"{code!r} is not a division of the GB/T 2260 table ({table.source})")
    click.echo(f"{found.code}  {table.full_name(found.code)}  ({found.level})")
    organ = filing_recipient(found.code, table.local_name(found.code))
    click.echo(f"filings go to: {organ.name_zh}")
    for child in table.children(found.code):
        click.echo(f"  {child.code}  {child.name}")
