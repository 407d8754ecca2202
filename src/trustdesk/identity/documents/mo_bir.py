"""Macau resident identity card number (澳門居民身份證, BIR): ``mo.bir``.

Eight digits printed ``1234567(8)``; the first digit tells the issuing series (1 first
generation, 5 and 7 later series, 8 entities, 0 commercial individuals: ``idnumbers``'
``mac/national_id.py``, standards.md §4.6). The last digit is a check digit, but its
algorithm is not public, so this module checks the **format only**: any eight digits
with a valid first digit pass, and a mistyped digit is not caught.
"""

from __future__ import annotations

from trustdesk.identity.documents.checks import accepts, check_in_brackets
from trustdesk.identity.documents.errors import (
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from trustdesk.identity.documents.text import clean, is_ascii_digits

NAME = "mo.bir"
DESCRIPTION = "Macau resident identity card number (澳門居民身份證; format only, no public check)"
LENGTH = 8
MAX_INPUT = 32
SERIES = frozenset("01578")


def compact(number: str) -> str:
    """The number without spaces, hyphens, slashes or brackets: ``12345678``."""
    return clean(number, max_length=MAX_INPUT, delete="-/()")


def validate(number: str) -> str:
    """The compact number if its format is valid, else a :class:`DocumentError`."""
    code = compact(number)
    if len(code) != LENGTH:
        raise InvalidLength(f"a Macau identity card number is {LENGTH} digits")
    if not is_ascii_digits(code):
        raise InvalidFormat("a Macau identity card number is digits only")
    if code[0] not in SERIES:
        raise InvalidComponent("the first digit (the series) is 0, 1, 5, 7 or 8")
    return code


def is_valid(number: str) -> bool:
    """Whether :func:`validate` accepts the number."""
    return accepts(validate, number)


def format(number: str) -> str:
    """The number as printed on the card: ``1234567(8)``."""
    return check_in_brackets(compact(number))
