"""``trustdesk policy``: list, show and check policy packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from trustdesk.cli.context import load_settings
from trustdesk.cli.output import ListFormat, print_json, reporting_errors, stdout
from trustdesk.policy.schema import Action, Pack
from trustdesk.policy.schemas import PackSummary, pack_document
from trustdesk.policy.service import PackRegistry, check_pack
from trustdesk.policy.vocabulary import Language
from trustdesk.wiring import load_packs

app = typer.Typer(help="Policy packs: the regulations trustdesk implements.", no_args_is_help=True)

PackDirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--pack-dir",
        metavar="DIR",
        exists=True,
        file_okay=False,
        help="A folder of operator packs, besides TRUSTDESK_PACK_DIRS (repeatable).",
    ),
]
FormatOption = Annotated[ListFormat, typer.Option("--format", help="Output format.")]
LangOption = Annotated[Language, typer.Option("--lang", help="Language of the texts.")]


def _registry(pack_dir: list[Path] | None) -> PackRegistry:
    return load_packs(load_settings(), pack_dir or [])


@app.command("list")
def list_(
    format_: FormatOption = ListFormat.TEXT,
    lang: LangOption = Language.EN,
    pack_dir: PackDirOption = None,
) -> None:
    """List the packs: built-in ones and the operator's."""
    with reporting_errors():
        packs = _registry(pack_dir).all()
    if format_ is ListFormat.JSON:
        print_json([PackSummary.of(pack).model_dump(mode="json") for pack in packs])
        return
    table = Table("id", "version", "basis", "jurisdiction", "effective", "title")
    for pack in packs:
        table.add_row(
            pack.id,
            pack.version,
            pack.basis,
            pack.jurisdiction.code,
            pack.effective.isoformat(),
            Text(pack.title.get(lang)),
        )
    stdout.print(table)


@app.command()
def show(
    pack_id: Annotated[str, typer.Argument(metavar="ID", help="The pack's id.")],
    format_: FormatOption = ListFormat.TEXT,
    lang: Annotated[
        Language | None, typer.Option("--lang", help="Language of the texts [default: en].")
    ] = None,
    pack_dir: PackDirOption = None,
) -> None:
    """Show one pack: its categories, obligations and actions."""
    with reporting_errors():
        pack = _registry(pack_dir).get(pack_id)
    if format_ is ListFormat.JSON:
        print_json(pack_document(pack, lang))
    else:
        _render(pack, lang or Language.EN)


@app.command()
def check(
    path: Annotated[
        Path,
        typer.Argument(exists=True, help="An operator pack: its folder or its pack.yaml."),
    ],
) -> None:
    """Validate a pack; print every problem as file:line:col and exit 1 if there are any."""
    with reporting_errors():
        pack = check_pack(path)
    stdout.print(
        f"OK {path}: pack {pack.id} {pack.version} ({len(pack.categories)} categories, "
        f"{len(pack.obligations)} obligations, {len(pack.actions)} actions)",
        highlight=False,
        markup=False,
    )


def _render(pack: Pack, lang: Language) -> None:
    stdout.print(Text(f"{pack.title.get(lang)}", style="bold"))
    rows = [
        ("id", f"{pack.id} {pack.version}"),
        ("basis", pack.basis.value),
        ("jurisdiction", f"{pack.jurisdiction.code} {pack.jurisdiction.name.get(lang)}"),
        ("effective", pack.effective.isoformat()),
        ("source", pack.source.title.get(lang)),
    ]
    rows += [("legal basis", basis.title.get(lang)) for basis in pack.legal_bases]
    for name, value in rows:
        stdout.print(Text.assemble((f"{name}: ", "dim"), value))
    categories = Table("id", "article", "severity", "automated", "label", title="categories")
    for category in pack.categories:
        automated = "yes" if category.automated_detection else "no: notices and review"
        categories.add_row(
            category.id,
            category.article,
            category.severity,
            automated,
            Text(category.label.get(lang)),
        )
    obligations = Table("id", "article", "kind", "title", "params", title="obligations")
    shaped = pack_document(pack)["obligations"]
    for obligation, data in zip(pack.obligations, shaped, strict=True):
        obligations.add_row(
            obligation.id,
            obligation.article,
            obligation.kind,
            Text(obligation.title.get(lang)),
            Text(json.dumps(data["params"], ensure_ascii=False)),
        )
    actions = Table("id", "article", "label", "statement of reasons", title="actions")
    for action in pack.actions:
        actions.add_row(
            action.id,
            action.article,
            Text(action.label.get(lang)),
            _sor_text(action),
        )
    for table in (categories, obligations, actions):
        stdout.print(table)


def _sor_text(action: Action) -> str:
    if action.sor is None:
        return ""
    values = action.sor.model_dump(mode="json", exclude_defaults=True).values()
    return " ".join(value if isinstance(value, str) else " ".join(value) for value in values)
