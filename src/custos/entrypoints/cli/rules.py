"""``custos rules``: the rule packs."""

from __future__ import annotations

import click


@click.group()
def rules() -> None:
    """The rule packs."""


@rules.command("list")
def rules_list() -> None:
    """List the rule packs and what they cover."""
    from custos.bootstrap import rulebook

    for pack in rulebook().packs:
        parent = f" (inherits {pack.parent})" if pack.parent else ""
        click.echo(f"{pack.id:<16} {pack.effective_date}  {pack.name_zh}{parent}")
