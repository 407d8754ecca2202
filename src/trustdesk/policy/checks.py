"""Checks that need the whole pack: unique ids, references between parts, languages.

They run once the pack has parsed; each problem is a path into the pack (as in the
YAML document, so it can be located) and a message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from pydantic import BaseModel

from trustdesk.policy.fields import Localized
from trustdesk.policy.params import (
    ContentDisposalParams,
    EffectiveDateParams,
    LegalBasisParams,
    ServiceTerminationParams,
    TransitionDeadlineParams,
)
from trustdesk.policy.schema import Pack

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]
SECTIONS = ("legal_bases", "categories", "actions", "obligations")

REFERENCES: dict[type[object], dict[str, str]] = {
    LegalBasisParams: {"laws": "legal_bases"},
    ContentDisposalParams: {"actions": "actions", "categories": "categories"},
    ServiceTerminationParams: {"triggered_by": "obligations"},
    TransitionDeadlineParams: {"applies_to": "obligations"},
}
"""For each params model: which of its fields name ids of which section of the pack."""


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


def problems(pack: Pack) -> list[Problem]:
    """Everything wrong with ``pack`` that its schema alone cannot see."""
    found: list[Problem] = []
    for section in SECTIONS:
        found.extend(_duplicates(section, getattr(pack, section)))
    found.extend(_references(pack))
    found.extend(_languages(pack))
    return found


def _duplicates(section: str, items: Sequence[_Identified]) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.id in first:
            where = f"{section}.{first[item.id]}"
            yield (section, index, "id"), f"duplicate id {item.id!r} (already used by {where})"
        else:
            first[item.id] = index


def _references(pack: Pack) -> Iterator[Problem]:
    ids = {section: {item.id for item in getattr(pack, section)} for section in SECTIONS}
    for index, obligation in enumerate(pack.obligations):
        here: Loc = ("obligations", index, "params")
        params = obligation.params
        for field, section in REFERENCES.get(type(params), {}).items():
            for position, ref in enumerate(getattr(params, field)):
                if ref not in ids[section]:
                    yield (*here, field, position), f"no {section} entry has the id {str(ref)!r}"
                elif section == "obligations" and ref == obligation.id:
                    yield (*here, field, position), "an obligation cannot refer to itself"
        if isinstance(params, EffectiveDateParams) and params.date != pack.effective:
            message = f"{params.date} differs from the pack's effective date {pack.effective}"
            yield (*here, "date"), message


def _languages(pack: Pack) -> Iterator[Problem]:
    promised = set(pack.languages)
    for loc, text in _localized(pack, ()):
        for lang in sorted(promised - text.languages()):
            yield loc, f"no {lang!r} text, though the pack's languages include it"


def _localized(value: object, loc: Loc) -> Iterator[tuple[Loc, Localized]]:
    if isinstance(value, Localized):
        yield loc, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _localized(getattr(value, name), (*loc, name))
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            yield from _localized(item, (*loc, index))
