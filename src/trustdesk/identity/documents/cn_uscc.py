"""Unified social credit code, GB 32100-2015 (统一社会信用代码): ``cn.uscc``.

Eighteen characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z):

- position 1, the registering authority: ``1``-``9``, or the letters ``A`` (central
  military commission's establishment office), ``N`` (agriculture: rural collective
  economic organisations), ``Y`` (other);
- position 2, the entity type: a digit;
- positions 3-8, the GB/T 2260 division code of the registering authority: digits;
- positions 9-17, the organisation code (GB 11714), its own check character included;
- position 18, the check character: weights ``3**(i-1) mod 31``, ``C = alphabet[(31 -
  sum mod 31) mod 31]``.

The check character comes from python-stdnum's ``stdnum.cn.uscc`` (2.2). Its
``validate`` is not used: it wants positions 1-8 to be digits and so refuses every code of
the authorities A, N and Y, and it does not check the embedded organisation code
(standards.md §4.4). Here the embedded code is checked with :mod:`.cn_orgcode`. Not
checked: which entity types an authority may register, and whether the division code
exists.
"""

from __future__ import annotations

from stdnum.cn import uscc as stdnum_uscc

from trustdesk.identity.documents import cn_orgcode
from trustdesk.identity.documents.checks import accepts
from trustdesk.identity.documents.errors import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from trustdesk.identity.documents.text import clean, is_ascii_digits

NAME = "cn.uscc"
DESCRIPTION = "Unified social credit code (统一社会信用代码, GB 32100-2015)"
LENGTH = 18
MAX_INPUT = 48
ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")
AUTHORITIES = frozenset("123456789ANY")


def compact(number: str) -> str:
    """The code without spaces or hyphens, upper-cased."""
    return clean(number, max_length=MAX_INPUT, delete="-")


def validate(number: str) -> str:
    """The compact code if it is valid, else a :class:`DocumentError` saying why."""
    code = compact(number)
    if len(code) != LENGTH:
        raise InvalidLength(f"a unified social credit code is {LENGTH} characters")
    if any(ch not in ALPHABET for ch in code):
        raise InvalidFormat("digits and capital letters other than I, O, S, V and Z")
    if code[0] not in AUTHORITIES:
        raise InvalidComponent("the registering authority is 1-9, A, N or Y")
    if not is_ascii_digits(code[1:8]):
        raise InvalidFormat("positions 2-8 (entity type and division code) are digits")
    if code[17] != stdnum_uscc.calc_check_digit(code):
        raise InvalidChecksum()
    if code[16] != cn_orgcode.calc_check_digit(code[8:16]):
        raise InvalidChecksum("the embedded organisation code's check character is wrong")
    return code


def is_valid(number: str) -> bool:
    """Whether :func:`validate` accepts the number."""
    return accepts(validate, number)


def format(number: str) -> str:
    """The code as printed: its compact form."""
    return compact(number)


def organisation_code(number: str) -> str:
    """The embedded organisation code of a valid USCC, as printed (``XXXXXXXX-X``)."""
    return cn_orgcode.format(validate(number)[8:17])
