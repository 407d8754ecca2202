"""Statements of reasons: the text the affected subject receives, in zh or en.

Rendered from Jinja2 templates with the pack's own labels (category, action, source) so
the wording of the law comes from the pack, and the template supplies the frame that
DSA art. 17(3) asks for: what, how long, on which ground, the facts, automation, redress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from trustdesk.cases.models import AutomatedDecision
from trustdesk.cases.sor import PACK_ID as DSA_PACK_ID
from trustdesk.policy.schema import Pack
from trustdesk.policy.vocabulary import ActionKind, Basis, Language

LANGUAGES = (Language.ZH, Language.EN)
_AUTOMATED: dict[str, tuple[str, str]] = {
    AutomatedDecision.FULLY: ("fully automated", "完全由自动化系统作出"),
    AutomatedDecision.PARTIALLY: ("partly automated", "部分借助自动化系统作出"),
    AutomatedDecision.NOT_AUTOMATED: ("taken by a person", "由人工作出"),
}
_BASIS: dict[str, tuple[str, str]] = {
    Basis.LAW: ("law", "法律依据"),
    Basis.TERMS: ("terms of service", "服务条款"),
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("trustdesk.cases", "templates"),
        undefined=StrictUndefined,
        autoescape=False,  # plain text, never HTML  # noqa: S701
        keep_trailing_newline=True,
        trim_blocks=True,
        auto_reload=False,  # the templates ship with the package: no stat per statement
    )


@dataclass(frozen=True, slots=True)
class StatementFacts:
    decision_id: str
    decided_at: datetime
    language: str
    pack: Pack | None  # None: the operator's terms
    category: str
    category_label: tuple[str, str]  # (en, zh)
    article: str
    basis: str
    actions: tuple[str, ...]
    until: datetime | None
    facts: str
    source: str  # notice, screening or own
    trusted: bool
    automated_detection: bool
    automated_decision: str
    appeal_until: datetime
    reversal: str | None = None


def _action_label(pack: Pack | None, action: str, zh: bool) -> str:
    if pack is not None:
        for candidate in pack.actions:
            if candidate.id == action:
                return candidate.label.zh if zh else candidate.label.en
    return action.replace("_", " ")


def render(facts: StatementFacts) -> str:
    """The statement in ``facts.language`` (zh or en; anything else gets en)."""
    language = facts.language if facts.language in LANGUAGES else Language.EN
    zh = language == Language.ZH
    template = _environment().get_template(f"statement.{language}.txt.j2")
    source_title = (
        (facts.pack.title.zh if zh else facts.pack.title.en)
        if facts.pack is not None
        else ("服务条款" if zh else "terms of service")
    )
    return template.render(
        decision_id=facts.decision_id,
        decided_at=facts.decided_at.strftime("%Y-%m-%d %H:%M UTC"),
        restrictions=[
            _action_label(facts.pack, a, zh) for a in facts.actions if a != ActionKind.RESTORE
        ]
        or (
            [_action_label(facts.pack, ActionKind.RESTORE, zh)]
            if ActionKind.RESTORE in facts.actions
            else []
        ),
        until=facts.until.strftime("%Y-%m-%d %H:%M UTC") if facts.until else None,
        category_label=facts.category_label[1] if zh else facts.category_label[0],
        basis_label=_BASIS.get(facts.basis, (facts.basis, facts.basis))[1 if zh else 0],
        source_title=source_title,
        article=facts.article,
        facts=facts.facts,
        source=facts.source,
        trusted=facts.trusted,
        automated_detection=facts.automated_detection,
        automated_decision_en=_AUTOMATED[facts.automated_decision][0],
        automated_decision_zh=_AUTOMATED[facts.automated_decision][1],
        reversal=facts.reversal,
        appeal_until=facts.appeal_until.strftime("%Y-%m-%d"),
        dsa=facts.pack is not None and facts.pack.id == DSA_PACK_ID,
    )


def render_warning(
    language: str, *, active: int, decision_id: str, suspend_at: int, days: int
) -> str:
    """The warning before a suspension for repeated restrictions (DSA art. 23(1))."""
    language = language if language in LANGUAGES else Language.EN
    template = _environment().get_template(f"warning.{language}.txt.j2")
    return template.render(active=active, decision_id=decision_id, suspend_at=suspend_at, days=days)
