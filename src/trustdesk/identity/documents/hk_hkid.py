"""Hong Kong identity card number (香港身份證號碼): ``hk.hkid``.

One or two letters, six digits and a check character in brackets: ``A123456(3)``.
Values: digits as themselves, ``A``=10 ... ``Z``=35, and a one-letter prefix counts as if
preceded by a space worth 36. Weights 9 8 7 6 5 4 3 2 over the eight positions;
``r = sum mod 11``; the check is ``0`` for r = 0, ``A`` for r = 1, else ``11 - r``
(standards.md §4.6, after ``idnumbers``' ``hkg/national_id.py``). python-stdnum has no
module for it.
"""

from __future__ import annotations

from trustdesk.identity.documents.checks import accepts, check_in_brackets, weighted_sum
from trustdesk.identity.documents.errors import (
    InvalidChecksum,
    InvalidFormat,
    InvalidLength,
)
from trustdesk.identity.documents.text import DIGITS, LETTERS, clean, is_ascii_digits

NAME = "hk.hkid"
DESCRIPTION = "Hong Kong identity card number (香港身份證)"
MAX_INPUT = 32
LENGTHS = (8, 9)  # compact: prefix of 1 or 2 letters, 6 digits, check
SPACE_VALUE = 36


def compact(number: str) -> str:
    """The number without spaces, hyphens or brackets, upper-cased: ``A1234563``."""
    return clean(number, max_length=MAX_INPUT, delete="-()")


def calc_check_digit(body: str) -> str:
    """The check character of a prefix (1 or 2 letters) followed by six digits."""
    values = [SPACE_VALUE] * (8 - len(body)) + [int(ch, 36) for ch in body]
    remainder = weighted_sum(values, range(9, 1, -1)) % 11
    return {0: "0", 1: "A"}.get(remainder, str(11 - remainder))


def validate(number: str) -> str:
    """The compact number if it is valid, else a :class:`DocumentError` saying why."""
    code = compact(number)
    if len(code) not in LENGTHS:
        raise InvalidLength("one or two letters, six digits and a check character")
    prefix, digits, check = code[:-7], code[-7:-1], code[-1]
    if any(ch not in LETTERS for ch in prefix) or not is_ascii_digits(digits):
        raise InvalidFormat("one or two letters, six digits and a check character")
    if check not in DIGITS and check != "A":
        raise InvalidFormat("the check character is a digit or A")
    if check != calc_check_digit(code[:-1]):
        raise InvalidChecksum()
    return code


def is_valid(number: str) -> bool:
    """Whether :func:`validate` accepts the number."""
    return accepts(validate, number)


def format(number: str) -> str:
    """The number as printed on the card: ``A123456(3)``."""
    return check_in_brackets(compact(number))
