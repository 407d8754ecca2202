"""Screening verdicts into cases: held content waits for review, blocked content is decided
at once by an automated decision (art. 7: act immediately), both in the case of its target.

No restriction goes without its case and decision. A deployment refuses a rule whose
category none of the service's packs defines, but the service's packs may change after it:
such a category is then taken as the operator's own label ``tos.<category>`` (the operator's
rule set restricted the item, and no pack of the service grounds it in law), the decision's
facts say so, and a warning is logged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trustdesk.cases.decisions import decide_automatically
from trustdesk.cases.journal import Batch, Indexed
from trustdesk.cases.service import (
    MAX_CATEGORY,
    TERMS_PREFIX,
    Opening,
    ResolvedCategory,
    UnknownCategory,
    attach_item,
    open_or_join,
    resolve_category,
    target_key,
)
from trustdesk.cases.strikes import StrikePolicy
from trustdesk.db.base import utcnow
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import ServicePacks
from trustdesk.records import leaf
from trustdesk.records.events import EventType
from trustdesk.screening.engine import Finding, RuleCount, Verdict
from trustdesk.screening.rules import Action, Mode
from trustdesk.screening.service import Screened, rule_counts_of

log = logging.getLogger("trustdesk.cases")


def _enforced(counts: Sequence[RuleCount]) -> list[RuleCount]:
    return [c for c in counts if c.mode is Mode.ENFORCE]


def _resolve(packs: Sequence[Pack], category: str) -> tuple[ResolvedCategory, bool]:
    """``category`` among the service's packs, else as the operator's label ``tos.<category>``
    (True: it fell outside the packs)."""
    try:
        return resolve_category(packs, category), False
    except UnknownCategory:
        return resolve_category(packs, f"{TERMS_PREFIX}{category}"[:MAX_CATEGORY]), True


def _facts(
    counts: Sequence[RuleCount],
    findings: Sequence[Finding],
    ruleset: str,
    outside: Sequence[str] = (),
) -> str:
    """Each rule's first match, and how often it matched (the findings stop at a cap);
    the categories that the service's packs do not define, if any."""
    first: dict[str, Finding] = {}
    for finding in findings:
        first.setdefault(finding.rule, finding)
    parts = []
    for counted in counts:
        where = first.get(counted.rule)
        span = f" at [{where.start}, {where.end})" if where is not None else ""
        more = f", {counted.matches} matches in all" if counted.matches > 1 else ""
        parts.append(f"rule {counted.rule} ({counted.category}){span}{more}")
    said = f"Automated screening with rule set {ruleset[:16]} matched: {'; '.join(parts)}."
    if outside:
        said += (
            " Not categories of this service's packs, so decided under the operator's terms: "
            f"{', '.join(outside)}."
        )
    return said


def _gravest(resolved: Sequence[tuple[ResolvedCategory, RuleCount]]) -> ResolvedCategory:
    return max(resolved, key=lambda pair: pair[0].severity.rank)[0]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a screened item's follow-up rests on: its rules' categories in the packs."""

    screened: Screened
    packs: Sequence[Pack]
    resolved: tuple[tuple[ResolvedCategory, RuleCount], ...]
    outside: frozenset[str]  # categories none of the packs defines

    @property
    def target(self) -> tuple[uuid.UUID, str]:
        item = self.screened.item
        return self.screened.service_id, target_key(item.content_id, None, item.subject)


def _plan(packs: Sequence[Pack], screened: Screened) -> _Plan | None:
    """The item's enforced rules resolved among the packs (None: shadow hits only, kept for
    tuning rules, not for review). The rules are read from the screening's counts, which
    name every rule that matched even when its findings were cut at the cap: the category
    and the decision do not depend on it."""
    counts = _enforced(rule_counts_of(screened.screening))
    if not counts:
        return None
    resolved: list[tuple[ResolvedCategory, RuleCount]] = []
    outside: set[str] = set()
    for counted in counts:
        category, fell_outside = _resolve(packs, counted.category)
        resolved.append((category, counted))
        if fell_outside:  # the service's packs changed after the rule set was deployed
            outside.add(counted.category)
    if outside:
        log.warning(
            "service %s: rules matched categories none of its packs defines (%s); "
            "taken as the operator's terms",
            screened.service_id,
            ", ".join(sorted(outside)),
        )
    return _Plan(screened, packs, tuple(resolved), frozenset(outside))


def _follow(plan: _Plan, batch: Batch, policy: StrikePolicy | None) -> None:
    """Open or join the item's case; decide it at once if the item was blocked."""
    session, screened, resolved, moment = batch.session, plan.screened, plan.resolved, batch.moment
    language = screened.context.get("language")
    case = open_or_join(
        session,
        Opening(
            service_id=screened.service_id,
            content_id=screened.item.content_id,
            url=None,
            subject=screened.item.subject,
            category=_gravest(resolved),
            trusted=False,
            automated=True,
            language=language if isinstance(language, str) else None,
            at=moment,
        ),
        batch,
    )
    attach_item(session, case, screened.item_id, moment, batch)
    blocking = [(c, f) for c, f in resolved if f.action is Action.BLOCK]
    if screened.screening.verdict is Verdict.BLOCK and blocking:
        decide_automatically(
            session,
            plan.packs,
            case,
            _gravest(blocking),
            _facts(
                [c for _, c in blocking],
                screened.screening.findings,
                screened.screening.ruleset,
                sorted({c.category for _, c in blocking} & plan.outside),
            ),
            policy=policy,
            moment=moment,
            batch=batch,
        )


def on_screened_many(
    session: Session,
    packs_of: ServicePacks,
    screened: Sequence[Screened],
    *,
    policy: StrikePolicy | None = None,
    leading: Sequence[tuple[leaf.Event, Indexed]] = (),
) -> None:
    """Follow up a batch of screened items, in order, as one by one (the same cases,
    decisions, actions, statements, strikes and log entries in the same order; two items
    about one target join one case, two of one subject strike it twice), but with one
    moment, one read of the open cases and of the strikes, one append of the log entries
    (``leading`` ones first, each giving its row its index) and one write of the rows
    (:class:`trustdesk.cases.journal.Batch`)."""
    packs: dict[uuid.UUID, Sequence[Pack]] = {}
    plans = []
    for one in screened:
        if one.service_id not in packs:
            packs[one.service_id] = packs_of(session, one.service_id)
        plan = _plan(packs[one.service_id], one)
        if plan is not None:
            plans.append(plan)
    if not plans and not leading:
        return
    batch = Batch(session, utcnow())
    for event, row in leading:
        batch.journal.add(EventType(event.type), event.service_id, event.data, batch.moment, row)
    with session.no_autoflush:
        batch.read_cases(plan.target for plan in plans)
        batch.read_strikes(
            (p.screened.service_id, p.screened.item.subject)
            for p in plans
            if p.screened.item.subject is not None and p.screened.screening.verdict is Verdict.BLOCK
        )
        for plan in plans:
            _follow(plan, batch, policy)
    batch.flush()


def on_screened(
    session: Session,
    packs: Sequence[Pack],
    screened: Screened,
    *,
    policy: StrikePolicy | None = None,
) -> None:
    """Open or join the case about the screened item; decide it at once if it was blocked
    (a batch of one: :func:`on_screened_many`)."""
    on_screened_many(session, lambda _session, _service: tuple(packs), [screened], policy=policy)


@dataclass(frozen=True, slots=True)
class CasesListener:
    """Held and blocked content reaches review: a screening listener that follows up a
    drain's batch as a whole (:meth:`many`), under each service's packs."""

    packs_of: ServicePacks
    policy: StrikePolicy | None = None

    def __call__(self, session: Session, screened: Screened) -> None:
        self.many(session, [screened])

    def many(
        self,
        session: Session,
        screened: Sequence[Screened],
        leading: Sequence[tuple[leaf.Event, Indexed]] = (),
    ) -> None:
        on_screened_many(session, self.packs_of, screened, policy=self.policy, leading=leading)
