"""``trustdesk rules check``: validate a rule set (folder, YAML file or zip) before deploying it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trustdesk.cli.context import load_settings
from trustdesk.cli.output import reporting_errors, stdout
from trustdesk.cli.policy import PackDirOption
from trustdesk.screening.sources import load_ruleset
from trustdesk.wiring import load_packs, ruleset_limits

app = typer.Typer(help="Rule sets: the rules screening applies.", no_args_is_help=True)


@app.callback()
def rules() -> None:
    """Rule sets: the rules screening applies."""


@app.command()
def check(
    path: Annotated[
        Path,
        typer.Argument(exists=True, help="A rule-set folder, a single rule file, or a zip."),
    ],
    pack_dir: PackDirOption = None,
) -> None:
    """Validate a rule set; print every problem as file:line:col and exit 1 if there are any.

    The archive limits and the quotas of the server's settings apply (as to an upload)."""
    with reporting_errors():
        settings = load_settings()
        registry = load_packs(settings, pack_dir or [])
        source = load_ruleset(path, registry.all(), ruleset_limits(settings))
    terms = sum(len(rule.terms) for rule in source.rules)
    patterns = sum(len(rule.patterns) for rule in source.rules)
    stdout.print(
        f"OK {path}: {len(source.rules)} rules, {terms} terms, {patterns} patterns, "
        f"{len(source.files)} files; version {source.version}",
        highlight=False,
        markup=False,
    )
