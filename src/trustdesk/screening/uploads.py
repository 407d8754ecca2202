"""Rule-set uploads from the API and the console: quotas first, then a compiler child, then
the deployment. Neither the upload's bytes nor its compile can exhaust the server. Also
switching a service back to a version it deployed before (API, console and CLI).

An upload is read up to the service's byte quota (one byte more tells it is over), counted
against the deploys-per-hour quota in a transaction of its own (a refused upload counts too:
it cost a compile), checked and compiled by the :class:`~trustdesk.screening.compiler.Compiler`
with no transaction open (so SQLite's writers never wait on a compile), loaded into the
process's screeners, and only then deployed.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import RateLimited
from trustdesk.policy.schema import Pack
from trustdesk.screening import service
from trustdesk.screening.compiler import Compiled
from trustdesk.screening.models import RuleSetUpload
from trustdesk.screening.runtime import (
    CompiledCache,
    ScreenerRegistry,
    build_screener,
    source_from_archive,
)
from trustdesk.screening.scope import require_service_categories
from trustdesk.screening.sources import RuleSetQuotaExceeded, RuleSetSource

HOUR = timedelta(hours=1)


class DeployQuotaExceeded(RateLimited):
    """The service sent as many rule sets to deploy this hour as it may."""

    code = "ruleset_deploy_quota"


@dataclass(frozen=True, slots=True)
class UploadQuota:
    """A service's quotas on uploads: bytes of one upload and uploads to deploy an hour."""

    bytes: int
    deploys_per_hour: int


def read_upload(file: BinaryIO, quota: UploadQuota) -> bytes:
    """The upload's bytes, read no further than one byte past the quota."""
    data = file.read(quota.bytes + 1)
    if len(data) > quota.bytes:
        raise RuleSetQuotaExceeded(
            f"a rule-set upload is at most {quota.bytes} bytes (TRUSTDESK_MAX_RULESET_BYTES)"
        )
    return data


def reserve(
    session: Session,
    service_id: uuid.UUID,
    size: int,
    quota: UploadQuota,
    now: datetime | None = None,
) -> None:
    """Count one upload to deploy, or refuse it if the service's hour is used up."""
    moment = now or utcnow()
    with transaction(session):
        if session.get_bind().dialect.name == "postgresql":  # one count at a time per service
            key = int.from_bytes(service_id.bytes[:8], "big", signed=True)
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        session.execute(
            delete(RuleSetUpload).where(
                RuleSetUpload.service_id == service_id, RuleSetUpload.uploaded_at <= moment - HOUR
            )
        )
        used = session.scalar(
            select(func.count()).where(
                RuleSetUpload.service_id == service_id, RuleSetUpload.uploaded_at > moment - HOUR
            )
        )
        if (used or 0) >= quota.deploys_per_hour:
            oldest = session.scalar(
                select(func.min(RuleSetUpload.uploaded_at)).where(
                    RuleSetUpload.service_id == service_id
                )
            )
            frees = (oldest + HOUR - moment).total_seconds() if oldest else HOUR.total_seconds()
            raise DeployQuotaExceeded(
                f"this service sent {used} rule sets to deploy in the last hour, the most it may "
                f"(TRUSTDESK_RULESET_DEPLOYS_PER_HOUR); try again later",
                retry_after=math.ceil(frees),
            )
        session.add(RuleSetUpload(service_id=service_id, uploaded_at=moment, bytes=size))


def check(screeners: ScreenerRegistry, archive: bytes, packs: Sequence[Pack]) -> RuleSetSource:
    """Check an upload (nothing compiled, nothing stored): in a compiler child if any."""
    if screeners.compiler is None:
        return source_from_archive(archive, packs)
    return screeners.compiler.check(archive, packs)


def deploy(
    session: Session,
    screeners: ScreenerRegistry,
    packs: Sequence[Pack],
    service_id: uuid.UUID,
    archive: bytes,
    *,
    quota: UploadQuota,
    service_packs: Sequence[Pack],
    by: str,
) -> tuple[RuleSetSource, service.DeploymentView]:
    """Count, check, compile and deploy ``archive``; it is active when this returns.

    ``packs`` (every loaded pack) check the rules, ``service_packs`` (the service's) bound
    the categories it may deploy."""
    reserve(session, service_id, len(archive), quota)
    if screeners.compiler is None:
        compiled = Compiled(source_from_archive(archive, packs), None)
    else:
        compiled = screeners.compiler.compile(archive, packs)
    require_service_categories(compiled.source, service_packs)  # before anything is built
    screeners.add(compiled, archive)  # built before it goes live
    view = service.deploy(session, service_id, compiled.source, archive, packs=service_packs, by=by)
    screeners.forget_active(service_id)
    return compiled.source, view


def deploy_checked(
    session: Session,
    cache: CompiledCache | None,
    service_id: uuid.UUID,
    source: RuleSetSource,
    archive: bytes,
    *,
    service_packs: Sequence[Pack],
    by: str,
) -> service.DeploymentView:
    """Deploy a rule set an operator checked on this machine (``trustdesk rules deploy``: no
    upload, no quota), its categories bound by ``service_packs`` (the service's): compiled
    into ``cache`` first, so the servers load it from there."""
    require_service_categories(source, service_packs)  # before anything is built
    build_screener(source, cache)
    return service.deploy(session, service_id, source, archive, packs=service_packs, by=by)


def activate(
    session: Session,
    screeners: ScreenerRegistry | None,
    service_id: uuid.UUID,
    version: str,
    *,
    packs: Sequence[Pack],
    service_packs: Sequence[Pack],
    by: str,
) -> service.DeploymentView:
    """Make a version this service deployed before its active rule set again (a rollback:
    the API, the console and ``trustdesk rules rollback``), checked again as a deploy is:
    ``packs`` (every loaded pack) check its rules, ``service_packs`` (the service's, as
    they are now) bound its categories. ``screeners`` (this process's, if it screens) check
    it in their compiler child, and use it from the next screen on."""
    archive = service.deployed_archive(session, service_id, version)
    if screeners is None or screeners.compiler is None:
        source = source_from_archive(archive, packs)
    else:  # only the ceilings: a quota lowered since does not refuse a rollback
        source = screeners.compiler.check(archive, packs, quotas=False)
    view = service.activate(session, service_id, source, packs=service_packs, by=by)
    if screeners is not None:
        screeners.forget_active(service_id)
    return view
