"""What the rules in shadow mode would have done had they been live: per shadow rule of a
service's stored items, how often and how lately it matched, and its latest matches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from trustdesk.db.engine import read_transaction
from trustdesk.screening.engine import Verdict
from trustdesk.screening.models import ContentFinding, ContentItem
from trustdesk.screening.rules import Action, Mode

SHADOW_RULES = 50  # rules answered by shadow_results, most matches first
SHADOW_SAMPLES = 5  # recent items shown per shadow rule
EXCERPT_CHARS = 40  # characters kept on each side of a sample's match


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A match with a little of the text around it; ``clipped_*``: text was cut there."""

    before: str
    match: str
    after: str
    clipped_start: bool
    clipped_end: bool

    @classmethod
    def of(cls, text: str, start: int, end: int, context: int = EXCERPT_CHARS) -> Excerpt:
        start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
        end = max(start, end)
        first, last = max(0, start - context), min(len(text), end + context)
        return cls(text[first:start], text[start:end], text[end:last], first > 0, last < len(text))


@dataclass(frozen=True, slots=True)
class ShadowSample:
    """A stored item a shadow rule matched: what the live rules decided, and the match."""

    item_id: uuid.UUID
    content_id: str
    seen_at: datetime
    verdict: Verdict
    excerpt: Excerpt


@dataclass(frozen=True, slots=True)
class ShadowResult:
    """What a rule in shadow mode would have done had it been live.

    ``items``: stored items it matched; ``stricter``: those whose verdict it would have
    made stricter (an allowed item held or blocked, a held one blocked); ``ruleset``: the
    version of its latest match; ``samples``: its latest matches, newest first.
    """

    rule: str
    category: str
    action: Action
    items: int
    stricter: int
    last_matched: datetime
    ruleset: str
    samples: tuple[ShadowSample, ...]


def shadow_results(
    session: Session,
    service_id: uuid.UUID,
    *,
    since: datetime | None = None,
    limit: int = SHADOW_RULES,
    samples: int = SHADOW_SAMPLES,
) -> list[ShadowResult]:
    """Per shadow rule (id, category and action) of the service's stored items since
    ``since``: how often and how lately it matched, most matched first."""
    where = [
        ContentItem.service_id == service_id,
        ContentFinding.mode == Mode.SHADOW,
        *([ContentItem.created_at >= since] if since is not None else []),
    ]
    stricter = or_(
        and_(ContentFinding.action == Action.BLOCK, ContentItem.verdict != Verdict.BLOCK),
        and_(ContentFinding.action == Action.HOLD, ContentItem.verdict == Verdict.ALLOW),
    )
    items = func.count(distinct(ContentItem.id))
    rule = (ContentFinding.rule, ContentFinding.category, ContentFinding.action)
    with read_transaction(session):
        rows = session.execute(
            select(
                *rule,
                items,
                func.count(distinct(case((stricter, ContentItem.id)))),
                func.max(ContentItem.created_at),
            )
            .join(ContentItem, ContentItem.id == ContentFinding.item_id)
            .where(*where)
            .group_by(*rule)
            .order_by(items.desc(), ContentFinding.rule, ContentFinding.category)
            .limit(limit)
        ).all()
        results = []
        for rule_id, category, action, matched, made_stricter, last in rows:
            recent = _shadow_samples(
                session,
                (*where, *(c == v for c, v in zip(rule, (rule_id, category, action), strict=True))),
                samples,
            )
            results.append(
                ShadowResult(
                    rule_id,
                    category,
                    action,
                    int(matched),
                    int(made_stricter),
                    last,
                    recent[0][0] if recent else "",
                    tuple(sample for _, sample in recent),
                )
            )
        return results


def _shadow_samples(
    session: Session, where: Sequence[Any], limit: int
) -> list[tuple[str, ShadowSample]]:
    """The newest ``limit`` items matching ``where``, each with its rule-set version and its
    first match of the rule."""
    newest = session.scalars(
        select(ContentItem.id)
        .join(ContentFinding, ContentFinding.item_id == ContentItem.id)
        .where(*where)
        .group_by(ContentItem.id, ContentItem.log_index)
        .order_by(ContentItem.log_index.desc())
        .limit(limit)
    ).all()
    if not newest:
        return []
    rows = session.execute(
        select(
            ContentItem.id,
            ContentItem.ruleset,
            ContentItem.content_id,
            ContentItem.created_at,
            ContentItem.verdict,
            ContentItem.text,
            ContentFinding.start,
            ContentFinding.end,
        )
        .join(ContentItem, ContentItem.id == ContentFinding.item_id)
        .where(*where, ContentItem.id.in_(newest))
        .order_by(ContentItem.log_index.desc(), ContentFinding.start)
    ).all()
    found: dict[uuid.UUID, tuple[str, ShadowSample]] = {}
    for item_id, ruleset, content_id, created_at, verdict, text, start, end in rows:
        if item_id not in found:
            excerpt = Excerpt.of(text, start, end)
            found[item_id] = (
                ruleset,
                ShadowSample(item_id, content_id, created_at, Verdict(verdict), excerpt),
            )
    return list(found.values())
