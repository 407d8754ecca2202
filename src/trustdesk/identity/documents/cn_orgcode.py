"""Organisation code, GB 11714-1997 (组织机构代码): ``cn.orgcode``.

Eight body characters (``0``-``9``, ``A``-``Z``) and a check character, printed
``XXXXXXXX-X``. The check: values ``0``-``9`` and ``A``=10 ... ``Z``=35, weights
3 7 9 10 5 8 4 2, ``C = 11 - (sum mod 11)`` with 10 written ``X`` and 11 written ``0``
(standards.md §4.5). python-stdnum has no module for it. Since 2015 the code lives on as
positions 9-17 of the unified social credit code (:mod:`.cn_uscc`), which checks it with
:func:`calc_check_digit`.
"""

from __future__ import annotations

from trustdesk.identity.documents.checks import accepts, weighted_sum
from trustdesk.identity.documents.errors import (
    InvalidChecksum,
    InvalidFormat,
    InvalidLength,
)
from trustdesk.identity.documents.text import DIGITS, LETTERS, clean

NAME = "cn.orgcode"
DESCRIPTION = "Organisation code (组织机构代码, GB 11714-1997)"
LENGTH = 9
MAX_INPUT = 32
WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
BODY_CHARACTERS = DIGITS | LETTERS


def compact(number: str) -> str:
    """The code without spaces or the hyphen, upper-cased."""
    return clean(number, max_length=MAX_INPUT, delete="-")


def calc_check_digit(body: str) -> str:
    """The check character of an eight-character body (``0``-``9``, ``A``-``Z``)."""
    total = weighted_sum((int(ch, 36) for ch in body), WEIGHTS)
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def validate(number: str) -> str:
    """The compact code if it is valid, else a :class:`DocumentError` saying why."""
    code = compact(number)
    if len(code) != LENGTH:
        raise InvalidLength(f"an organisation code is {LENGTH} characters, not {len(code)}")
    if any(ch not in BODY_CHARACTERS for ch in code[:8]):
        raise InvalidFormat("the first eight characters are digits or capital letters")
    if code[8] not in DIGITS and code[8] != "X":
        raise InvalidFormat("the check character is a digit or X")
    if code[8] != calc_check_digit(code[:8]):
        raise InvalidChecksum()
    return code


def is_valid(number: str) -> bool:
    """Whether :func:`validate` accepts the number."""
    return accepts(validate, number)


def format(number: str) -> str:
    """The code as printed: ``XXXXXXXX-X``."""
    code = compact(number)
    return f"{code[:8]}-{code[8:]}"
