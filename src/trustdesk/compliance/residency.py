"""The residency check: each applicable pack's ``server_residency`` rule against the inventory.

A server that serves users in a rule's region (one of its populations overlaps the region)
must stand in the region; where the rule names a GB/T 2260 prefix, its division code must
start with it. Each breach is a finding naming the server and the rule. The check keeps
findings current: a new breach opens one, a breach that is gone (the server moved, stopped
serving the region, or was removed) resolves it automatically. A person may resolve an open
finding, saying why; it is not reopened while the server's location and populations stay as
they were. An open finding makes the service non-compliant under art. 8
(:func:`open_residency_findings`).

Only the ``serving_users_in_region`` trigger is judged: the register does not yet say where
a provider is registered, so ``registered_in_region`` alone opens no finding.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.compliance import fields
from trustdesk.compliance.locations import overlaps, within
from trustdesk.compliance.models import ResidencyFinding, Server
from trustdesk.compliance.servers import ServerIn
from trustdesk.compliance.service import get_service, packs_for
from trustdesk.compliance.vocabulary import FindingReason, FindingStatus
from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import Conflict, NotFound
from trustdesk.policy.params import ResidencyTrigger, ServerResidencyParams
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.views import view_of

CHECK_ACTOR = "residency check"
MAX_RESOLUTION = 2000
MAX_DETAIL = 500


class FindingNotFound(NotFound):
    code = "finding_not_found"


class FindingResolved(Conflict):
    code = "finding_already_resolved"


@dataclass(frozen=True, slots=True)
class Rule:
    pack_id: str
    obligation_id: str
    article: str
    params: ServerResidencyParams


@dataclass(frozen=True, slots=True)
class Breach:
    reason: FindingReason
    detail: str


@dataclass(frozen=True, slots=True)
class FindingView:
    id: uuid.UUID
    service_id: uuid.UUID
    server_id: uuid.UUID | None
    server_name: str
    pack_id: str
    obligation_id: str
    article: str
    reason: FindingReason
    detail: str
    status: FindingStatus
    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolved_automatically: bool
    resolution: str | None


@dataclass(frozen=True, slots=True)
class CheckResult:
    service_id: uuid.UUID
    servers: int
    rules: tuple[Rule, ...]
    opened: tuple[FindingView, ...]
    resolved: tuple[FindingView, ...]
    open: tuple[FindingView, ...]


def rules_of(packs: Iterable[Pack]) -> tuple[Rule, ...]:
    """Every ``server_residency`` obligation of ``packs``."""
    return tuple(
        Rule(pack.id, o.id, o.article, o.params)
        for pack in packs
        for o in pack.obligations
        if isinstance(o.params, ServerResidencyParams)
    )


def judge(server: ServerIn, rule: ServerResidencyParams) -> Breach | None:
    """How ``server`` breaks ``rule``, or ``None`` if it does not."""
    if ResidencyTrigger.SERVING_USERS_IN_REGION not in rule.applies_to:
        return None
    served = [p for p in server.populations if overlaps(p, rule.region)]
    if not served:
        return None
    if not within(server.location, rule.region):
        users = ", ".join(served)
        detail = f"stands in {server.location}, outside {rule.region}, and serves users in {users}"
        return Breach(FindingReason.OUTSIDE_REGION, detail)
    return _judge_division(server.gbt2260, rule.gbt2260_prefix)


def _judge_division(code: str | None, prefix: str | None) -> Breach | None:
    """A server in the region against the rule's GB/T 2260 prefix, if it names one."""
    if prefix is None:
        return None
    if code is None:
        if len(prefix) == 2:  # the province: its ISO 3166-2 code has shown it already
            return None
        detail = f"has no GB/T 2260 code to show it stands in division {prefix}"
        return Breach(FindingReason.DIVISION_MISSING, detail)
    if not code.startswith(prefix):
        detail = f"stands in GB/T 2260 division {code}, outside {prefix}"
        return Breach(FindingReason.DIVISION_OUTSIDE_PREFIX, detail)
    return None


def entry_of(row: Server) -> ServerIn:
    return view_of(ServerIn, row, **lists_of(row))


def lists_of(row: Server) -> dict[str, tuple[str, ...]]:
    """A server's data classes and populations, as its entry and its view hold them."""
    return {
        "data_classes": tuple(d.data_class for d in row.data_classes),
        "populations": tuple(p.region for p in row.populations),
    }


def _view(row: ResidencyFinding) -> FindingView:
    return view_of(FindingView, row)


Key = tuple[uuid.UUID | None, str, str, str]


def _key(row: ResidencyFinding) -> Key:
    return (row.server_id, row.pack_id, row.obligation_id, row.state)


def _resolve(
    session: Session, row: ResidencyFinding, by: str, why: str, *, automatically: bool
) -> None:
    moment = utcnow()
    records.append(
        session,
        EventType.COMPLIANCE_FINDING_RESOLVED,
        service_id=row.service_id,
        data={
            "finding_id": str(row.id),
            "automatically": automatically,
            "by_digest": leaf.keyed(by),
            "resolution_digest": leaf.keyed(why),
        },
        now=moment,
    )
    row.status = FindingStatus.RESOLVED
    row.resolved_at = moment
    row.resolved_by = by
    row.resolved_automatically = automatically
    row.resolution = why


def check_service(session: Session, registry: PackRegistry, service_id: uuid.UUID) -> CheckResult:
    """Run the residency check now: the service's servers against the packs it uses."""
    return check(session, service_id, packs_for(session, registry, service_id))


def check(session: Session, service_id: uuid.UUID, packs: Sequence[Pack]) -> CheckResult:
    """Judge every server of the service against every residency rule of ``packs``."""
    rules = rules_of(packs)
    with transaction(session):
        get_service(session, service_id)
        servers = session.scalars(select(Server).where(Server.service_id == service_id)).all()
        findings = session.scalars(
            select(ResidencyFinding).where(ResidencyFinding.service_id == service_id)
        ).all()
        breaches: dict[Key, tuple[Server, Rule, Breach]] = {}
        for server in servers:
            entry = entry_of(server)
            for rule in rules:
                breach = judge(entry, rule.params)
                if breach is not None:
                    key = (server.id, rule.pack_id, rule.obligation_id, entry.state())
                    breaches[key] = (server, rule, breach)
        open_rows = {_key(f): f for f in findings if f.status is FindingStatus.OPEN}
        waived = {
            _key(f)
            for f in findings
            if f.status is FindingStatus.RESOLVED and not f.resolved_automatically
        }
        opened = [
            _open(session, service_id, key[3], found)
            for key, found in breaches.items()
            if key not in open_rows and key not in waived
        ]
        resolved = []
        for open_key, row in open_rows.items():
            if open_key not in breaches:
                why = "the server no longer breaks the rule (moved, changed or removed)"
                _resolve(session, row, CHECK_ACTOR, why, automatically=True)
                resolved.append(row)
        session.flush()
        still_open = [row for k, row in open_rows.items() if k in breaches] + opened
        return CheckResult(
            service_id=service_id,
            servers=len(servers),
            rules=rules,
            opened=tuple(map(_view, opened)),
            resolved=tuple(map(_view, resolved)),
            open=tuple(_view(row) for row in sorted(still_open, key=_order)),
        )


def _order(row: ResidencyFinding) -> tuple[str, str, str]:
    return (row.server_name, row.pack_id, row.obligation_id)


def _open(
    session: Session, service_id: uuid.UUID, state: str, found: tuple[Server, Rule, Breach]
) -> ResidencyFinding:
    server, rule, breach = found
    finding_id = uuid.uuid4()
    records.append(
        session,
        EventType.COMPLIANCE_FINDING_OPENED,
        service_id=service_id,
        data={
            "finding_id": str(finding_id),
            "server_id": str(server.id),
            "pack_id": rule.pack_id,
            "obligation_id": rule.obligation_id,
            "reason": str(breach.reason),
        },
    )
    detail = f"server {server.name!r} {breach.detail}"
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 1] + "…"
    row = ResidencyFinding(
        id=finding_id,
        service_id=service_id,
        server_id=server.id,
        server_name=server.name,
        pack_id=rule.pack_id,
        obligation_id=rule.obligation_id,
        article=rule.article,
        reason=breach.reason,
        detail=detail,
        state=state,
        status=FindingStatus.OPEN,
        opened_at=utcnow(),
    )
    session.add(row)
    return row


def list_findings(
    session: Session, service_id: uuid.UUID, status: FindingStatus | None = None
) -> list[FindingView]:
    """A service's residency findings (open ones, resolved ones or all), oldest first."""
    with read_transaction(session):
        get_service(session, service_id)
        query = select(ResidencyFinding).where(ResidencyFinding.service_id == service_id)
        if status is not None:
            query = query.where(ResidencyFinding.status == status)
        rows = session.scalars(query.order_by(ResidencyFinding.opened_at)).all()
        return [_view(row) for row in rows]


def open_residency_findings(session: Session, service_id: uuid.UUID) -> list[FindingView]:
    """The unresolved residency findings of a service: any makes it non-compliant (art. 8)."""
    return list_findings(session, service_id, FindingStatus.OPEN)


def resolve_finding(
    session: Session, service_id: uuid.UUID, finding_id: uuid.UUID, *, by: str, reason: str
) -> FindingView:
    """Close an open finding by a person's decision, with the reason on record."""
    by = fields.actor(by)
    reason = fields.text(reason, "the reason", MAX_RESOLUTION, field="reason")
    with transaction(session):
        row = session.get(ResidencyFinding, finding_id)
        if row is None or row.service_id != service_id:
            raise FindingNotFound(f"no residency finding {finding_id}")
        if row.status is FindingStatus.RESOLVED:
            raise FindingResolved(f"finding {finding_id} is resolved already")
        _resolve(session, row, by, reason, automatically=False)
        session.flush()
        return _view(row)
