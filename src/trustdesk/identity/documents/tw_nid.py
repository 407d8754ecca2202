"""Taiwan national identification number (中華民國國民身分證統一編號): ``tw.nid``.

A letter for the place of first registration, ``1`` (male) or ``2`` (female), seven
digits and a check digit: ``A123456789``. The letter stands for two digits by an
irregular table (``I`` is 34, ``O`` 35, ``W`` 32 ...); over those two digits and the
nine that follow, weights 1 9 8 7 6 5 4 3 2 1 1 must give a sum divisible by 10
(standards.md §4.6, after ``idnumbers``' ``twn/national_id.py``). python-stdnum's
``stdnum.tw`` has only the business number (UBN). Resident certificates of foreigners
(second character ``8`` or ``9``, or a letter) are not this document and are refused.

The weights 2, 4, 5, 6 and 8 share a factor with 10, so some single-digit mistakes keep
the sum divisible by 10 and are not caught; that is the scheme, not this module.
"""

from __future__ import annotations

from trustdesk.identity.documents.checks import accepts, weighted_sum
from trustdesk.identity.documents.errors import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from trustdesk.identity.documents.text import LETTERS, clean, is_ascii_digits

NAME = "tw.nid"
DESCRIPTION = "Taiwan national identification number (國民身分證)"
LENGTH = 10
MAX_INPUT = 32
LETTER_VALUES = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))
WEIGHTS = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)


def compact(number: str) -> str:
    """The number without spaces or hyphens, upper-cased."""
    return clean(number, max_length=MAX_INPUT, delete="-")


def checksum(number: str) -> int:
    """The weighted sum mod 10 of a ten-character number; 0 for a valid one."""
    digits = f"{LETTER_VALUES[number[0]]}{number[1:]}"
    return weighted_sum(map(int, digits), WEIGHTS) % 10


def calc_check_digit(body: str) -> str:
    """The check digit of the first nine characters."""
    return str(-checksum(body + "0") % 10)


def validate(number: str) -> str:
    """The compact number if it is valid, else a :class:`DocumentError` saying why."""
    code = compact(number)
    if len(code) != LENGTH:
        raise InvalidLength(f"a Taiwan national identification number is {LENGTH} characters")
    if code[0] not in LETTERS or not is_ascii_digits(code[1:]):
        raise InvalidFormat("a letter and nine digits")
    if code[1] not in "12":
        raise InvalidComponent("the second character is 1 or 2")
    if checksum(code) != 0:
        raise InvalidChecksum()
    return code


def is_valid(number: str) -> bool:
    """Whether :func:`validate` accepts the number."""
    return accepts(validate, number)


def format(number: str) -> str:
    """The number as printed: its compact form."""
    return compact(number)
