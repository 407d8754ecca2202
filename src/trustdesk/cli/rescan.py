"""``trustdesk rescan``: screen a service's stored content again with a new or shadow rule set
and report what would change; ``--apply`` acts on what becomes stricter.

Everything is checked before anything is written (the date, the service, the rule set and
its categories, Ray's address): a refused rescan leaves no trace. See
:mod:`trustdesk.screening.rescan` for what a rescan can and cannot see.
"""

from __future__ import annotations

import enum
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from trustdesk.cli.context import DbOption, desk_for
from trustdesk.cli.output import lazy_progress, print_json, reporting_errors, stderr, stdout
from trustdesk.compliance import service as compliance
from trustdesk.errors import InvalidInput
from trustdesk.screening import rescan as rescans
from trustdesk.screening import rescan_rows
from trustdesk.screening import service as screening
from trustdesk.screening.rescan_report import CHANGES, rule_rows
from trustdesk.screening.runtime import (
    CompiledCache,
    archive_folder,
    build_screener,
    source_from_archive,
)
from trustdesk.screening.scope import require_service_categories
from trustdesk.screening.sources import RuleSetSource, load_ruleset
from trustdesk.wiring import Desk, ruleset_limits

VERSION = re.compile(r"[0-9a-f]{8,64}")


class EngineName(enum.StrEnum):
    LOCAL = "local"
    RAY = "ray"


class UnknownRuleSet(InvalidInput):
    code = "ruleset_not_found"


def _ruleset(desk: Desk, service_id: uuid.UUID, given: str) -> tuple[RuleSetSource, bytes]:
    """The rule set ``given`` names: a file or folder (checked against the service's packs,
    as a deploy is), else a version this service deployed (a unique prefix will do)."""
    path = Path(given)
    with desk.database.session() as session:
        if path.exists():
            source = load_ruleset(path, desk.packs.all(), ruleset_limits(desk.settings))
            require_service_categories(
                source, compliance.packs_for(session, desk.packs, service_id)
            )
            archive = path.read_bytes() if path.suffix == ".zip" else archive_folder(path)
            return source, archive
        if not VERSION.fullmatch(given):
            raise UnknownRuleSet(f"--ruleset {given!r} is neither a file or folder nor a version")
        versions = {v.version for v in screening.deployments(session, service_id, limit=1000)}
        matching = sorted(v for v in versions if v.startswith(given))
        if len(matching) != 1:
            said = "names several versions" if matching else "is no version this service deployed"
            raise UnknownRuleSet(f"--ruleset {given} {said}")
        archive = screening.deployed_archive(session, service_id, matching[0])
    return source_from_archive(archive, desk.packs.all()), archive


def _table(report: dict[str, Any], run: rescans.RescanView) -> None:
    spec = run.spec
    stdout.print(
        f"rescan {run.id} of {report['items']} stored item(s) since {spec.since.isoformat()} "
        f"with rule set {spec.ruleset[:16]}" + (" (resumed)" if run.resumed else ""),
        highlight=False,
    )
    changes = Table("change", "items")
    for change in CHANGES:
        changes.add_row(change.replace("_", " "), str(report["changes"][change]))
    changes.add_row("no rule matches any more", str(report["cleared"]))
    stdout.print(changes)
    rules = Table("rule", "items before", "items after", "gained", "lost", "matches before→after")
    for row in rule_rows(report):
        rules.add_row(
            row["rule"],
            str(row["items_before"]),
            str(row["items_after"]),
            f"+{row['items_gained']}",
            f"-{row['items_lost']}",
            f"{row['matches_before']}→{row['matches_after']}",
        )
    stdout.print(rules)
    if spec.apply:
        stdout.print(f"applied: {report['applied']} item(s) made stricter went to review")
    if report["changes"]["released"]:
        stdout.print(
            f"{report['changes']['released']} item(s) would be released: a rescan never lifts "
            "a restriction; a moderator reverses it in its case",
            highlight=False,
        )


def rescan(
    ruleset: Annotated[
        str, typer.Option(help="A rule file or folder (a shadow rule set), or a deployed version.")
    ],
    service: Annotated[uuid.UUID, typer.Option("--service", help="The service's id.")],
    since: Annotated[
        str, typer.Option(help="Rescan items stored from this date (YYYY-MM-DD, UTC) or time.")
    ],
    engine: Annotated[EngineName, typer.Option(help="Where to screen.")] = EngineName.LOCAL,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster head (host:port); default: a local Ray.")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Send items made stricter to review (cases).")
    ] = False,
    resume: Annotated[
        uuid.UUID | None, typer.Option(help="Resume this rescan (default: the unfinished one).")
    ] = None,
    page: Annotated[int, typer.Option(min=1, max=100_000, help="Items read at a time.")] = (
        rescans.PAGE
    ),
    json_: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Screen a service's stored content again and report what would change."""
    with reporting_errors():
        moment = rescans.parse_since(since)
        with desk_for(db) as desk:
            settings = desk.settings
            with desk.database.session() as session:
                compliance.get_service(session, service)
            source, archive = _ruleset(desk, service, ruleset)
            cache = CompiledCache.of(settings)
            screener = build_screener(source, cache)
            limit = settings.screening_max_findings
            work: rescans.Engine = rescans.local_engine(lambda t: screener.screen_many(t, limit))
            if engine is EngineName.RAY:
                # Ray takes seconds to import: only a rescan on Ray pays for it
                from trustdesk.screening import rescan_ray  # noqa: PLC0415

                rescan_ray.connect(address)
                url = rescan_ray.worker_url(settings.database_url)
                local = cache if address is None else None
                packs = tuple(desk.packs.all())
                work = rescan_ray.RayEngine(url, archive, packs, local, limit)
            elif address is not None:
                raise InvalidInput("--address is for --engine ray")
            applier = rescans.Applier(lambda t: screener.screen(t, limit), desk.screening_listener)
            spec = rescans.RescanSpec(service, source.version, moment, apply)
            with desk.database.session() as session:
                run = rescans.begin(session, spec, resume=resume)
                if run.resumed:
                    stderr.print(f"resuming rescan {run.id}", highlight=False)
                total = rescan_rows.total(session, rescans.window(run))
                with lazy_progress("rescanning") as progress:
                    run = rescans.run_to_end(
                        session,
                        run,
                        work,
                        applier=applier if apply else None,
                        page=page,
                        progress=lambda done: progress(done, total),
                    )
    if json_:
        print_json(
            {
                "rescan": str(run.id),
                "service": str(service),
                "ruleset": run.spec.ruleset,
                "since": run.spec.since.isoformat(),
                "until": run.until.isoformat(),
                "engine": str(engine),
                "apply": apply,
                "resumed": run.resumed,
                "report": {**run.report, "rules": rule_rows(run.report)},
            }
        )
        return
    _table(run.report, run)
