"""What the document modules share past their own rules: a weighted digit sum (the check
digits of most numbers), ``is_valid`` from ``validate``, and a check printed in brackets."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from trustdesk.identity.documents.errors import DocumentError


def weighted_sum(values: Iterable[int], weights: Iterable[int]) -> int:
    """The sum of each value times its weight (as many weights as values)."""
    return sum(value * weight for value, weight in zip(values, weights, strict=True))


def accepts(validate: Callable[[str], object], number: str) -> bool:
    """Whether ``validate`` accepts ``number`` (a :class:`DocumentError` says no)."""
    try:
        return bool(validate(number))
    except DocumentError:
        return False


def check_in_brackets(code: str) -> str:
    """``code`` as printed with its last character, the check, in brackets: ``A123456(3)``."""
    return f"{code[:-1]}({code[-1:]})"
