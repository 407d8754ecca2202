"""Obligations and deadlines (art. 9, 10): every obligation of every pack that applies to a
service, with a status computed from the register and from the running system.

Each status is ``met``, ``not_met`` or ``unknown`` (nothing the register or the system
shows can decide it, or nothing is asked of the service), with the evidence behind it and
a due date: obligations named by a pack's transition deadline fall due that many days
after the pack's effective date or the service's registration, whichever is later (art. 9:
90 days); every other obligation is due from that same start.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from trustdesk.cases import stats as case_stats
from trustdesk.compliance import crypto, filings, inventory, residency
from trustdesk.compliance.service import get_service, packs_for
from trustdesk.compliance.vocabulary import FilingStatus
from trustdesk.db.base import utcnow
from trustdesk.identity import service as identity
from trustdesk.identity.vocabulary import IdentityStatus
from trustdesk.policy.params import (
    InternalComplaintsParams,
    RecordPreservationParams,
    ServiceFilingParams,
    ServiceTerminationParams,
    TransitionDeadlineParams,
    TransparencyReportParams,
)
from trustdesk.policy.schema import ObligationBase, Pack
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ObligationKind
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.screening import service as screening

SOON_DAYS = 30
_INTERVAL = "TRUSTDESK_CHECKPOINT_INTERVAL_SECONDS"


class Status(enum.StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ObligationStatus:
    pack_id: str
    obligation_id: str
    article: str
    kind: str
    title_en: str
    title_zh: str
    status: Status
    evidence: tuple[str, ...]
    due: dt.date | None
    overdue: bool
    due_soon: bool


@dataclass(frozen=True, slots=True)
class Context:
    """What the checks read, gathered once per service."""

    session: Session
    service_id: uuid.UUID
    service_types: frozenset[str]
    packs: Sequence[Pack]
    today: dt.date
    now: dt.datetime
    checkpoint_interval_seconds: int
    health: case_stats.Health  # read once: several checks look at it
    results: dict[str, Status] = field(default_factory=dict)


Check = Callable[[Context, ObligationBase], tuple[Status, list[str]]]


def _filing(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    params = obligation.params
    assert isinstance(params, ServiceFilingParams)
    if not context.service_types & {str(t) for t in params.service_types}:
        return Status.MET, ["no service type of this service needs a permit or filing"]
    kinds = {str(k) for k in params.filing_kinds}
    held = [
        f
        for f in filings.list_filings(context.session, context.service_id, today=context.today)
        if str(f.kind) in kinds
    ]
    current = [f for f in held if f.status is not FilingStatus.EXPIRED]
    evidence = [
        f"{f.kind} {f.number} ({f.authority}), {f.status}"
        + (f", expires {f.expires_on}" if f.expires_on else "")
        + (f", {len(f.documents)} document(s) in the record log" if f.documents else "")
        for f in held
    ]
    if current:
        return Status.MET, evidence
    return Status.NOT_MET, evidence or ["no permit or filing recorded"]


def _residency(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del obligation
    servers = inventory.list_servers(context.session, context.service_id)
    if not servers:
        return Status.UNKNOWN, ["no servers or data stores in the inventory"]
    open_findings = residency.open_residency_findings(context.session, context.service_id)
    if open_findings:
        return Status.NOT_MET, [
            f"open residency finding: {f.server_name} breaks {f.pack_id}:{f.obligation_id} "
            f"(art. {f.article}): {f.detail}"
            for f in open_findings
        ]
    return Status.MET, [f"{len(servers)} server(s) in the inventory, no open residency finding"]


def _crypto(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del obligation
    assets = crypto.list_assets(context.session, context.service_id)
    if not assets:
        return Status.NOT_MET, ["no cryptography inventory recorded"]
    return Status.MET, [f"{len(assets)} cryptographic asset(s) inventoried (CycloneDX CBOM export)"]


def _real_name(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del obligation
    counts = identity.counts(context.session, context.service_id)
    verified = counts.get(IdentityStatus.VERIFIED, 0)
    return Status.MET, [
        "publishing gate on: unverified subjects are blocked with identity_required",
        f"{verified} verified identit{'y' if verified == 1 else 'ies'} in the vault",
    ]


def _confidentiality(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del context, obligation
    return Status.MET, [
        "identities sealed with AES-256-GCM under per-record data keys; blind index for lookups",
        "disclosure only by legal process with two approvals, each step in the record log",
    ]


def _disposal(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del obligation
    active = screening.active_version(context.session, context.service_id)
    health = context.health
    evidence = [f"active rule set {active[:16]}" if active else "no rule set deployed"]
    evidence.append(f"{health.dead_actions} undeliverable action(s), {health.late_actions} late")
    if health.dead_actions or health.late_actions:
        return Status.NOT_MET, evidence
    return (Status.MET if active else Status.UNKNOWN), evidence


def _preservation(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    """Met while every entry is covered by a signed checkpoint, or waits no longer for one
    than the checkpointer may take (twice its interval): what counts is how long the oldest
    uncovered entry has waited, not how old the last checkpoint is (an idle log signs none)."""
    params = obligation.params
    assert isinstance(params, RecordPreservationParams)
    latest = records.latest_checkpoint(context.session)
    size = records.size(context.session)
    evidence = [f"record log of {size} entries", f"evidence kept {params.retention_days} days"]
    if latest is None:
        evidence.append("no checkpoint")
    else:
        age = (context.now - latest.signed_at).total_seconds()
        evidence.append(f"latest checkpoint of size {latest.size}, signed {int(age)} s ago")
    covered = latest.size if latest is not None else 0
    if size == 0:
        return Status.UNKNOWN, evidence
    if covered >= size:
        return Status.MET, evidence
    interval = context.checkpoint_interval_seconds
    if interval <= 0:
        if latest is None:
            reason = "no checkpoint signed, and automatic checkpoints are off "
            return Status.NOT_MET, [f"not met: {reason}({_INTERVAL} is 0)", *evidence]
        return Status.MET, evidence
    since = records.recorded_at(context.session, covered)
    waited = max(0, int((context.now - since).total_seconds())) if since is not None else 0
    allowed = 2 * interval
    uncovered = size - covered
    if waited > allowed:
        reason = (
            f"not met: entry {covered} has waited {waited} s for a signed checkpoint, longer "
            f"than the {allowed} s allowed (twice {_INTERVAL})"
        )
        return Status.NOT_MET, [reason, *evidence]
    waiting = f"{uncovered} entr{'y' if uncovered == 1 else 'ies'} awaiting the next checkpoint"
    return Status.MET, [*evidence, f"{waiting}, the oldest for {waited} s (at most {allowed} s)"]


def _channel(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del context, obligation
    return Status.MET, ["POST /v1/notices and the console's notice form are open to anyone"]


def _statements(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del obligation
    health = context.health
    if health.restrictions_without_statement:
        return Status.NOT_MET, [
            f"{health.restrictions_without_statement} restriction(s) without a statement"
        ]
    return Status.MET, ["every restriction has a statement of reasons"]


def _complaints(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    params = obligation.params
    assert isinstance(params, InternalComplaintsParams)
    health = context.health
    evidence = [f"appeals open for {params.window_days} days, decided by another reviewer"]
    if health.late_appeals:
        return Status.NOT_MET, [*evidence, f"{health.late_appeals} appeal(s) pending > 14 days"]
    return Status.MET, evidence


def _reporting(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del obligation
    sent = context.health.reports_sent
    return Status.UNKNOWN, [f"{sent} report(s) to authorities sent; due per case, as needed"]


def _transparency(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    params = obligation.params
    assert isinstance(params, TransparencyReportParams)
    since = context.now - dt.timedelta(days=int(params.interval_months * 30.5))
    made = records.count(
        context.session,
        EventType.COMPLIANCE_REPORT_GENERATED,
        service_id=context.service_id,
        start=since,
    )
    evidence = [
        f"{made} transparency report(s) generated in the last {params.interval_months} months"
    ]
    return (Status.MET if made else Status.NOT_MET), evidence


def _informational(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del context, obligation
    return Status.MET, ["met by trustdesk's design (see the pack's note)"]


def _nothing_to_do(context: Context, obligation: ObligationBase) -> tuple[Status, list[str]]:
    del context, obligation
    return Status.MET, ["nothing to do: this names the laws or dates the pack rests on"]


CHECKS: dict[ObligationKind, Check] = {
    ObligationKind.SERVICE_FILING: _filing,
    ObligationKind.SERVER_RESIDENCY: _residency,
    ObligationKind.CRYPTO_FILING: _crypto,
    ObligationKind.REAL_NAME_REGISTRATION: _real_name,
    ObligationKind.IDENTITY_CONFIDENTIALITY: _confidentiality,
    ObligationKind.CONTENT_DISPOSAL: _disposal,
    ObligationKind.RECORD_PRESERVATION: _preservation,
    ObligationKind.PUBLIC_REPORTING_CHANNEL: _channel,
    ObligationKind.NOTICE_AND_ACTION: _channel,
    ObligationKind.STATEMENT_OF_REASONS: _statements,
    ObligationKind.INTERNAL_COMPLAINTS: _complaints,
    ObligationKind.AUTHORITY_REPORTING: _reporting,
    ObligationKind.CRIME_NOTIFICATION: _reporting,
    ObligationKind.TRANSPARENCY_REPORT: _transparency,
    ObligationKind.TRUSTED_FLAGGERS: _informational,
    ObligationKind.MISUSE_SUSPENSION: _informational,
    ObligationKind.LEGAL_BASIS: _nothing_to_do,
    ObligationKind.EFFECTIVE_DATE: _nothing_to_do,
}
UNDECIDED = {
    ObligationKind.LEGAL_BASIS,
    ObligationKind.EFFECTIVE_DATE,
    ObligationKind.SERVICE_TERMINATION,
    ObligationKind.PLATFORM_TRANSPARENCY,
    ObligationKind.CUSTOM,
}
DERIVED = {ObligationKind.SERVICE_TERMINATION, ObligationKind.TRANSITION_DEADLINE}


def _due(pack: Pack, obligation: ObligationBase, registered: dt.date) -> dt.date:
    start = max(pack.effective, registered)
    for other in pack.obligations:
        params = other.params
        if isinstance(params, TransitionDeadlineParams) and (
            obligation.id in params.applies_to or other.id == obligation.id
        ):
            return start + dt.timedelta(days=params.days)
    return start


def _derived(context: Context, pack: Pack, obligation: ObligationBase) -> tuple[Status, list[str]]:
    """Service termination and transition deadlines follow from the obligations they name."""
    params = obligation.params
    if isinstance(params, ServiceTerminationParams):
        failing = [
            o
            for o in params.triggered_by
            if context.results.get(f"{pack.id}:{o}") is Status.NOT_MET
        ]
        if failing:
            return Status.NOT_MET, [f"the service must stop: {', '.join(failing)} not met"]
        return Status.MET, ["no obligation that would stop the service is unmet"]
    assert isinstance(params, TransitionDeadlineParams)
    named = {o: context.results.get(f"{pack.id}:{o}", Status.UNKNOWN) for o in params.applies_to}
    evidence = [f"{o}: {state}" for o, state in named.items()]
    if any(state is Status.NOT_MET for state in named.values()):
        return Status.NOT_MET, evidence
    if all(state is Status.MET for state in named.values()):
        return Status.MET, evidence
    return Status.UNKNOWN, evidence


def for_service(
    session: Session,
    registry: PackRegistry,
    service_id: uuid.UUID,
    *,
    checkpoint_interval_seconds: int,
) -> list[ObligationStatus]:
    """Every obligation of the packs the service uses (see :func:`statuses`): the register's
    status, as the API, the console and the CLI show it."""
    return statuses(
        session,
        lambda sid: packs_for(session, registry, sid),
        service_id,
        checkpoint_interval_seconds=checkpoint_interval_seconds,
    )


def statuses(
    session: Session,
    packs_of: Callable[[uuid.UUID], Sequence[Pack]],
    service_id: uuid.UUID,
    *,
    checkpoint_interval_seconds: int,
    now: dt.datetime | None = None,
) -> list[ObligationStatus]:
    """Every obligation of every pack of the service, with status, evidence and due date."""
    moment = now or utcnow()
    service = get_service(session, service_id)
    packs = packs_of(service_id)
    context = Context(
        session,
        service_id,
        frozenset(str(t) for t in service.types),
        packs,
        moment.date(),
        moment,
        checkpoint_interval_seconds,
        case_stats.health(session, service_id, moment),
    )
    found: list[ObligationStatus] = []
    pending: list[tuple[Pack, ObligationBase]] = []
    for pack in packs:
        for obligation in pack.obligations:
            if obligation.kind in DERIVED:
                pending.append((pack, obligation))
                continue
            check = CHECKS.get(obligation.kind)
            status, evidence = (
                check(context, obligation) if check else (Status.UNKNOWN, ["informational"])
            )
            context.results[f"{pack.id}:{obligation.id}"] = status
            found.append(
                _row(
                    pack,
                    obligation,
                    status,
                    evidence,
                    registered=service.created_at.date(),
                    now=moment,
                )
            )
    for pack, obligation in pending:
        status, evidence = _derived(context, pack, obligation)
        found.append(
            _row(
                pack, obligation, status, evidence, registered=service.created_at.date(), now=moment
            )
        )
    return found


def _row(
    pack: Pack,
    obligation: ObligationBase,
    status: Status,
    evidence: Sequence[str],
    *,
    registered: dt.date,
    now: dt.datetime,
) -> ObligationStatus:
    due = None if obligation.kind in UNDECIDED else _due(pack, obligation, registered)
    unmet = status is Status.NOT_MET
    return ObligationStatus(
        pack.id,
        obligation.id,
        obligation.article,
        str(obligation.kind),
        obligation.title.en,
        obligation.title.zh,
        status,
        tuple(evidence),
        due,
        overdue=unmet and due is not None and due < now.date(),
        due_soon=unmet
        and due is not None
        and now.date() <= due <= now.date() + dt.timedelta(days=SOON_DAYS),
    )
