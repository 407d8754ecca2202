"""The packs' own words for categories and actions, in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from trustdesk.policy.fields import Localized
from trustdesk.policy.schema import Pack
from trustdesk.policy.vocabulary import ActionKind


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    note: str = ""  # the article, the pack


def localized(text: Localized, language: str) -> str:
    return text.zh if language == "zh" else text.en


def category_choices(packs: Iterable[Pack], language: str) -> list[Choice]:
    """Every category of ``packs`` as ``pack:category``, labelled, with its article."""
    return [
        Choice(f"{p.id}:{c.id}", localized(c.label, language), f"{p.id} · {c.article}")
        for p in packs
        for c in p.categories
    ]


def action_choices(packs: Iterable[Pack], language: str) -> list[Choice]:
    """The actions a moderator may take under ``packs`` (restoring comes only on appeal)."""
    seen: dict[str, Choice] = {}
    for pack in packs:
        for action in pack.actions:
            if action.id is not ActionKind.RESTORE and action.id not in seen:
                seen[action.id] = Choice(
                    str(action.id), localized(action.label, language), action.article
                )
    return list(seen.values())


def category_label(packs: Sequence[Pack], key: str, language: str) -> str:
    """The label of ``pack:category`` (an operator's ``tos.`` label as it is)."""
    pack_id, _, category_id = key.rpartition(":")
    if pack_id == "tos":
        return category_id
    for pack in packs:
        if pack.id == pack_id or not pack_id:
            found = pack.category(category_id)
            if found is not None:
                return localized(found.label, language)
    return key


def action_label(packs: Sequence[Pack], kind: str, language: str) -> str:
    for pack in packs:
        for action in pack.actions:
            if action.id == kind:
                return localized(action.label, language)
    return kind
