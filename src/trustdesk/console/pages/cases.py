"""Moderators' pages: the queue, claiming and releasing, the case, the decision, actions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import Response

from trustdesk.cases import actions, appeals, claims, decisions, pace
from trustdesk.cases import service as cases
from trustdesk.cases.models import CaseStatus
from trustdesk.compliance import service as compliance
from trustdesk.console import labels, web
from trustdesk.console.highlight import Span, segments
from trustdesk.console.i18n import N_
from trustdesk.console.problems import Problem, describe
from trustdesk.db.base import utcnow
from trustdesk.errors import InvalidInput, TrustdeskError
from trustdesk.permissions import Permission
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import PackRegistry, ServicePacks
from trustdesk.policy.vocabulary import ActionKind, Severity

router = APIRouter()
ReadPage = Annotated[web.Page, Depends(web.staff(Permission.CASES_CASE_READ))]
DecidePage = Annotated[web.Page, Depends(web.staff(Permission.CASES_CASE_DECIDE))]
QUEUE_SHOWN = 200  # cases listed on one queue page; the counts cover the whole queue
AGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
SOURCES = ("trusted", "anyone")
BREAK_AFTER = 20  # decisions in an hour after which the queue suggests a break
SENSITIVE = frozenset({Severity.CRITICAL})  # content of these categories starts folded away


def service_packs(page: web.Page) -> ServicePacks:
    return page.desk.service_packs


def packs_of(page: web.Page, service_id: uuid.UUID) -> tuple[Pack, ...]:
    return page.desk.service_packs(page.db, service_id)


def all_packs(page: web.Page) -> tuple[Pack, ...]:
    registry: PackRegistry = page.desk.packs
    return registry.all()


@dataclass(frozen=True, slots=True)
class QueueFilters:
    service: uuid.UUID | None
    category: str
    source: str
    age: str

    def query(self) -> dict[str, str]:
        return {
            "service": str(self.service) if self.service else "",
            "category": self.category,
            "source": self.source,
            "age": self.age,
        }


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


@router.get("/queue", name="queue")
def queue(
    page: ReadPage,
    service: Annotated[str | None, Query(max_length=64)] = None,
    category: Annotated[str, Query(max_length=200)] = "",
    source: Annotated[str, Query(max_length=16)] = "",
    age: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    filters = QueueFilters(
        _uuid(service),
        category.strip(),
        source if source in SOURCES else "",
        age if age in AGES else "",
    )
    moment = utcnow()
    where = cases.QueueFilter(
        service_id=filters.service,
        category=filters.category or None,
        trusted={"trusted": True, "anyone": False}.get(filters.source),
        opened_before=moment - AGES[filters.age] if filters.age else None,
    )
    entries = cases.queue(page.db, where, limit=QUEUE_SHOWN, now=moment)
    counts = cases.queue_counts(page.db, where, now=moment)
    packs = all_packs(page)
    services = {s.id: s.name for s in compliance.list_services(page.db)}
    context: dict[str, Any] = {
        "entries": entries,
        "filters": filters,
        "capped": counts.total > len(entries),
        "now": moment,
        "services": services,
        "categories": labels.category_choices(packs, page.language),
        "label": lambda key: labels.category_label(packs, key, page.language),
        "counts": counts,
    }
    if page.request.headers.get("hx-request") == "true":
        return page.render("cases/_queue.html", **context)
    assert page.user is not None
    mine = pace.reviewer_pace(page.db, page.user.id, now=moment)
    return page.render(
        "cases/queue.html", pace=mine, break_due=mine.last_hour >= BREAK_AFTER, **context
    )


@router.post("/cases/{case_id}/claim", name="claim")
def claim(case_id: uuid.UUID, page: DecidePage) -> Response:
    assert page.user is not None
    claims.claim(page.db, case_id, page.user.id)
    page.flash(N_("You have claimed this case for 15 minutes."))
    return page.redirect("case", case_id=case_id)


@router.post("/cases/{case_id}/release", name="release")
def release(case_id: uuid.UUID, page: DecidePage) -> Response:
    assert page.user is not None
    claims.release(page.db, case_id, page.user.id)
    page.flash(N_("The case is back in the queue."))
    return page.redirect("queue")


def _content(detail: cases.CaseDetail) -> list[dict[str, Any]]:
    shown = []
    for item in detail.items:
        spans = [Span(f.start, f.end, f"{f.rule} · {f.category}") for f in item.findings]
        shown.append({"item": item, "segments": segments(item.text, spans)})
    return shown


def _sensitive(packs: Sequence[Pack], category: str) -> bool:
    """Whether a case's content may be distressing enough to be folded until asked for."""
    try:
        return cases.resolve_category(packs, category).severity in SENSITIVE
    except cases.UnknownCategory:
        return False


def _category_choices(packs: Sequence[Pack], category: str, language: str) -> list[labels.Choice]:
    """The packs' categories, and the operator's own one (``tos.<label>``) the case is under."""
    choices = labels.category_choices(packs, language)
    if category.startswith(cases.TERMS_PREFIX):
        choices.append(labels.Choice(category, category, cases.TERMS_PACK))
    return choices


def case_context(page: web.Page, case_id: uuid.UUID) -> dict[str, Any]:
    """Everything the case page shows, for the case view and the forms that re-render it."""
    assert page.user is not None
    detail = cases.case_detail(page.db, case_id)
    case = detail.case
    packs = packs_of(page, case.service_id)
    moment = utcnow()
    claimed = case.claim_expires_at is not None and case.claim_expires_at > moment
    pending = appeals.appeals(page.db, status=None, case_id=case.id)
    return {
        "case": case,
        "content": _content(detail),
        "history": detail.history,
        "service": compliance.get_service(page.db, case.service_id),
        "sensitive": _sensitive(packs, case.category),
        "mine": claimed and case.claimed_by == page.user.id,
        "claimed_by_other": claimed and case.claimed_by != page.user.id,
        "decidable": case.status is CaseStatus.OPEN,
        "categories": _category_choices(packs, case.category, page.language),
        "actions": labels.action_choices(packs, page.language),
        "label": lambda key: labels.category_label(packs, key, page.language),
        "action_label": lambda kind: labels.action_label(packs, kind, page.language),
        "action_views": actions.case_actions(page.db, case.id),
        "appeals": pending,
        "values": {"category": case.category, "actions": [], "facts": "", "until": ""},
    }


@router.get("/cases/{case_id}", name="case")
def case_view(case_id: uuid.UUID, page: ReadPage) -> Response:
    return page.render("cases/case.html", error=None, **case_context(page, case_id))


@router.get("/cases/{case_id}/actions", name="case_actions")
def actions_view(case_id: uuid.UUID, page: ReadPage) -> Response:
    """The delivery status alone (htmx refreshes it while actions are on their way)."""
    context = case_context(page, case_id)
    return page.render("cases/_actions.html", **context)


def parse_until(raw: str) -> datetime | None:
    """A suspension's last day (``YYYY-MM-DD``) as the end of that day, UTC."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise InvalidInput("the suspension's end is a date like 2026-12-31") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def parse_actions(raw: Sequence[str]) -> tuple[ActionKind, ...]:
    try:
        return tuple(ActionKind(a) for a in raw)
    except ValueError:
        raise decisions.InvalidDecision("an action is not one the packs name") from None


@router.post("/cases/{case_id}/decision", name="decide")
def decide(
    *,
    case_id: uuid.UUID,
    page: DecidePage,
    category: Annotated[str, Form(max_length=200)] = "",
    actions: Annotated[list[str] | None, Form(max_length=32)] = None,
    facts: Annotated[str, Form(max_length=decisions.MAX_FACTS)] = "",
    until: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    assert page.user is not None
    chosen = list(actions or [])[:10]
    try:
        decisions.decide(
            page.db,
            service_packs(page),
            case_id,
            page.user.caller(),
            decisions.DecisionIn(
                category=category,
                actions=parse_actions(chosen),
                facts=facts,
                suspend_until=parse_until(until),
            ),
            policy=page.desk.strike_policy,
        )
    except TrustdeskError as exc:
        problem: Problem = describe(exc)
        if problem.code == "case_not_found":
            raise
        context = case_context(page, case_id)
        context["values"] = {
            "category": category,
            "actions": chosen,
            "facts": facts,
            "until": until[:32],
        }
        return page.render("cases/case.html", problem.status, error=problem, **context)
    page.flash(N_("The decision is recorded; its actions are on their way to the service."))
    return page.redirect("case", case_id=case_id)
