"""The one rule for which characters free text may hold, with the options slices differ on.

Names, references and identifiers (an identity's name, a register entry, a service name)
refuse every character of Unicode's "other" class: controls, format characters such as
bidirectional overrides and zero-width joiners, lone surrogates, private-use and
unassigned code points. Prose a person writes (a notice's explanation, a decision's facts)
keeps format characters, which some scripts need, and may allow line breaks and tabs; it
still refuses the other controls and lone surrogates, which no database or reader wants.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection

_ANY_OTHER = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_CONTROLS = frozenset({"Cc", "Cs"})


def has_forbidden_characters(value: str, *, prose: bool = False, allow: str = "") -> bool:
    """Whether ``value`` holds a character free text may not: any "other" character, or
    with ``prose`` only controls and lone surrogates; characters in ``allow`` are exempt."""
    forbidden = _CONTROLS if prose else _ANY_OTHER
    return any(unicodedata.category(ch) in forbidden and ch not in allow for ch in value)


NUL = "\x00"


def nul_location(
    value: object, skip: Collection[tuple[str | int, ...]] = ()
) -> tuple[str | int, ...] | None:
    """Where in a JSON-like value (strings, lists, dicts, in any nesting) a string holds
    U+0000, as the path of keys and indexes to it; None when none does. Strings at the
    paths in ``skip`` may hold it.

    PostgreSQL's text (and jsonb) cannot store NUL, and no name, identifier or message of
    ours needs it, so every adapter refuses it before a service sees it.
    """
    stack: list[tuple[tuple[str | int, ...], object]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if NUL in item and path not in skip:
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and NUL in key:
                    return path
                stack.append(((*path, str(key)), child))
        elif isinstance(item, list | tuple):
            stack.extend(((*path, index), child) for index, child in enumerate(item))
    return None
