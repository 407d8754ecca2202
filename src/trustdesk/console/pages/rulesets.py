"""Rule-set pages: a service's deployments, checking and deploying an upload, switching back
to an earlier version, and what the service's shadow rules would have done if live.

Checking needs only the read permission and changes nothing; deploying and switching need
the deploy permission (asked before the form is read). An upload goes through the same
steps as the API's (``as_archive``, then ``screening.uploads``: quotas, a compiler child
held to memory and time limits, deploy); every refusal is shown on the page, with the form,
as a message or as the rule set's problems at file:line:col.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import RedirectResponse, Response

from trustdesk.compliance import service as compliance
from trustdesk.console import web
from trustdesk.console.i18n import N_
from trustdesk.console.pages.compliance import chosen_service
from trustdesk.console.problems import Problem
from trustdesk.db.base import utcnow
from trustdesk.errors import InvalidInput, SourceError, TrustdeskError
from trustdesk.http.downloads import attachment
from trustdesk.http.problems import status_for
from trustdesk.permissions import Permission
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import service as screening
from trustdesk.screening import shadow, uploads
from trustdesk.screening.compiler import CompilerBusy, RuleSetTooCostly
from trustdesk.screening.rules import Action, Mode
from trustdesk.screening.runtime import ScreenerRegistry, as_archive
from trustdesk.screening.sources import RuleSetQuotaExceeded, RuleSetSource
from trustdesk.settings import Settings

router = APIRouter()
RulesPage = Annotated[web.Page, Depends(web.staff(Permission.SCREENING_RULESET_READ))]
DeployPage = Annotated[web.Page, Depends(web.staff(Permission.SCREENING_RULESET_DEPLOY))]
ServiceForm = Annotated[str, Form(max_length=64)]
Upload = Annotated[UploadFile | None, File()]
Version = Annotated[str, Path(max_length=64)]
SHOWN = 50
SHOWN_PROBLEMS = 200
SUFFIXES = (".yaml", ".yml", ".zip")
PERIODS = {"7d": timedelta(days=7), "30d": timedelta(days=30)}  # of shadow results shown
ARCHIVE_NAME = "upload.zip"  # how source_from_archive names the upload in its messages


class UploadRefused(InvalidInput):
    """An upload refused before its rules are read; ``notice`` is what the page says."""

    code = "invalid_ruleset_upload"

    def __init__(self, notice: str, detail: str) -> None:
        super().__init__(detail)
        self.notice = notice


# What an upload may be refused with; each is shown on the page with the form.
REFUSALS = (
    UploadRefused,
    SourceError,
    RuleSetQuotaExceeded,
    RuleSetTooCostly,
    CompilerBusy,
    uploads.DeployQuotaExceeded,
)


@dataclass(frozen=True, slots=True)
class CheckedRule:
    id: str
    category: str
    action: Action
    mode: Mode
    where: str  # file:line:col in the upload


@dataclass(frozen=True, slots=True)
class Summary:
    """A checked rule set, as the CLI's ``rules check`` reports it."""

    filename: str
    version: str
    rules: tuple[CheckedRule, ...]
    terms: int
    patterns: int
    files: tuple[str, ...]

    @property
    def shadow(self) -> tuple[CheckedRule, ...]:
        return tuple(rule for rule in self.rules if rule.mode is Mode.SHADOW)


@dataclass(frozen=True, slots=True)
class Checked:
    """An upload read and checked: its name, the zip the store keeps, its rules."""

    filename: str
    archive: bytes
    source: RuleSetSource
    wrapped: bool  # a single rule file, wrapped in a zip by as_archive

    def summary(self) -> Summary:
        rules = self.source.rules
        return Summary(
            self.filename,
            self.source.version,
            tuple(
                CheckedRule(r.id, r.category, r.action, r.mode, self.named(str(r.source)))
                for r in rules
            ),
            sum(len(rule.terms) for rule in rules),
            sum(len(rule.patterns) for rule in rules),
            self.source.files,
        )

    def named(self, file: str) -> str:
        return _renamed(file, self.filename, self.wrapped)


def _settings(page: web.Page) -> Settings:
    return page.desk.settings


def _registry(page: web.Page) -> ScreenerRegistry:
    return page.desk.screeners


def upload_limit(settings: Settings) -> int:
    """The largest rule file or zip the console takes: the API's (the HTTP layer lets the
    upload routes' bodies through up to it, plus the form around the file)."""
    return settings.max_ruleset_bytes


def _size(count: int) -> str:
    """``count`` bytes, in the largest binary unit that divides it."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} B"


def _service(page: web.Page, raw: str) -> compliance.ServiceView:
    try:
        service_id = uuid.UUID(raw)
    except ValueError as exc:
        raise compliance.ServiceNotFound("there is no such service") from exc
    return compliance.get_service(page.db, service_id)


def _name_of(file: UploadFile | None) -> str:
    """The upload's base name, as far as a page shows it."""
    name = (file.filename or "") if file is not None else ""
    return name.replace("\\", "/").rsplit("/", 1)[-1][:200]


def _read(file: UploadFile | None, limit: int) -> tuple[str, bytes]:
    """The upload's base name and bytes, or why it is refused."""
    name = _name_of(file)
    if file is None or not name:
        raise UploadRefused(
            N_("Choose a rule file (.yaml, .yml) or a zip of a rule folder."), "no file was sent"
        )
    if not name.lower().endswith(SUFFIXES):
        raise UploadRefused(
            N_("Only a rule file (.yaml, .yml) or a zip of a rule folder can be uploaded."),
            "the file's name ends in none of .yaml, .yml, .zip",
        )
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise UploadRefused(
            N_("The file is too large."), f"a rule set upload is at most {limit} bytes"
        )
    if not data:
        raise UploadRefused(N_("The file is empty."), f"{name} holds no bytes")
    return name, data


def _check(page: web.Page, file: UploadFile | None, deploy_to: uuid.UUID | None = None) -> Checked:
    """Read and check the upload, and deploy it to ``deploy_to`` if given; raises
    UploadRefused, SourceError (named as uploaded) or another refusal of ``uploads``."""
    name, data = _read(file, upload_limit(_settings(page)))
    archive = as_archive(data, name)
    packs: PackRegistry = page.desk.packs
    wrapped = archive is not data
    try:
        if deploy_to is None:
            source = uploads.check(_registry(page), archive, packs.all())
        else:
            assert page.user is not None
            quota: uploads.UploadQuota = page.desk.upload_quota
            source = uploads.deploy(
                page.db,
                _registry(page),
                packs.all(),
                deploy_to,
                archive,
                quota=quota,
                service_packs=page.desk.service_packs(page.db, deploy_to),
                by=f"console:{page.user.username}",
            )[0]
    except SourceError as exc:
        problems = [
            replace(
                p,
                file=_renamed(p.file, name, wrapped),
                message=p.message.replace(f"{ARCHIVE_NAME}/", "" if wrapped else f"{name}/"),
            )
            for p in exc.problems
        ]
        raise SourceError(problems) from exc
    return Checked(name, archive, source, wrapped)


def _renamed(file: str, name: str, wrapped: bool) -> str:
    """``file`` (in a message about the archive) with the upload's own name."""
    if file != ARCHIVE_NAME and not file.startswith(f"{ARCHIVE_NAME}/"):
        return file
    rest = file.removeprefix(ARCHIVE_NAME)
    return rest.lstrip("/") if wrapped and rest else name + rest


def _page(
    page: web.Page,
    service_id: uuid.UUID | None,
    status: int = 200,
    *,
    period: str = "",
    **shown: Any,
) -> Response:
    """The rule-set page of ``service_id`` (None: no service yet), with what a form left;
    shadow results over ``period`` (a key of :data:`PERIODS`, or "" for all time)."""
    assert page.user is not None
    since = utcnow() - PERIODS[period] if period in PERIODS else None
    listed = compliance.list_services(page.db)
    chosen = compliance.get_service(page.db, service_id) if service_id else None
    deployed = screening.deployments(page.db, service_id, limit=SHOWN) if service_id else []
    context: dict[str, Any] = {
        "summary": None,
        "problem": None,
        "problems": [],
        "more_problems": 0,
        "upload": "",
    }
    context.update(shown)
    return page.render(
        "admin/rulesets.html",
        status,
        services=listed,
        chosen=chosen,
        deployments=deployed,
        active=deployed[0].version if deployed else None,
        shadow=shadow.shadow_results(page.db, service_id, since=since) if service_id else [],
        period=period if period in PERIODS else "",
        periods=PERIODS,
        can_deploy=page.user.can(Permission.SCREENING_RULESET_DEPLOY),
        max_size=_size(upload_limit(_settings(page))),
        **context,
    )


def _refused(page: web.Page, service_id: uuid.UUID, upload: str, exc: TrustdeskError) -> Response:
    """The page again, with the form, saying why the upload was refused."""
    if isinstance(exc, UploadRefused):
        problem = Problem(status_for(exc), exc.code, exc.notice, exc.message)
        return _page(page, service_id, problem.status, problem=problem, upload=upload)
    if not isinstance(exc, SourceError):  # a quota, a compiler limit: nothing was deployed
        notice = N_("The rule set was refused; nothing was deployed.")
        problem = Problem(status_for(exc), exc.code, notice, exc.message)
        return _page(page, service_id, problem.status, problem=problem, upload=upload)
    notice = N_("The rule set has problems; nothing was deployed. Fix each one and retry.")
    problem = Problem(status_for(exc), exc.code, notice)
    listed = exc.problems[:SHOWN_PROBLEMS]
    return _page(
        page,
        service_id,
        problem.status,
        problem=problem,
        problems=listed,
        more_problems=len(exc.problems) - len(listed),
        upload=upload,
    )


def _back(page: web.Page, service_id: uuid.UUID) -> Response:
    query = urlencode({"service": str(service_id)})
    return RedirectResponse(f"{page.url('rulesets')}?{query}", status_code=303)


@router.get("/admin/rulesets", name="rulesets")
def rulesets(
    page: RulesPage,
    service: Annotated[str | None, Query(max_length=64)] = None,
    period: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    chosen = chosen_service(service, compliance.list_services(page.db))
    return _page(page, chosen, period=period)


@router.post("/admin/rulesets/check", name="ruleset_check")
def ruleset_check(*, page: RulesPage, service: ServiceForm = "", file: Upload = None) -> Response:
    """Check an upload and show its summary or its problems; nothing is stored."""
    chosen = _service(page, service)
    try:
        checked = _check(page, file)
    except REFUSALS as exc:
        return _refused(page, chosen.id, _name_of(file), exc)
    return _page(page, chosen.id, summary=checked.summary(), upload=checked.filename)


@router.post("/admin/rulesets/deploy", name="ruleset_deploy")
def ruleset_deploy(*, page: DeployPage, service: ServiceForm = "", file: Upload = None) -> Response:
    """Check, compile and deploy an upload: it becomes the service's active rule set."""
    assert page.user is not None
    chosen = _service(page, service)
    try:
        _check(page, file, deploy_to=chosen.id)
    except REFUSALS as exc:
        return _refused(page, chosen.id, _name_of(file), exc)
    page.flash(N_("The rule set is deployed and active."))
    return _back(page, chosen.id)


@router.post("/admin/rulesets/{version}/activate", name="ruleset_activate")
def ruleset_activate(*, version: Version, page: DeployPage, service: ServiceForm = "") -> Response:
    """Make a version this service deployed before its active rule set again."""
    assert page.user is not None
    chosen = _service(page, service)
    packs: PackRegistry = page.desk.packs
    try:  # checked again against the service's packs as they are now, as a deploy is
        uploads.activate(
            page.db,
            _registry(page),
            chosen.id,
            version,
            packs=packs.all(),
            service_packs=page.desk.service_packs(page.db, chosen.id),
            by=f"console:{page.user.username}",
        )
    except REFUSALS as exc:
        return _refused(page, chosen.id, "", exc)
    page.flash(N_("The chosen rule set is active again."))
    return _back(page, chosen.id)


@router.get("/admin/rulesets/{version}/archive", name="ruleset_archive")
def ruleset_archive(
    *, version: Version, page: RulesPage, service: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """The files of a version this service deployed, as the zip the store keeps."""
    chosen = _service(page, service)
    archive = screening.deployed_archive(page.db, chosen.id, version)
    disposition = attachment(f"ruleset-{version[:16]}.zip")
    return Response(
        archive, media_type="application/zip", headers={"content-disposition": disposition}
    )
