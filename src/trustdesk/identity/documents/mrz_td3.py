"""Passport machine readable zone, ICAO Doc 9303 TD3: ``mrz.td3``.

Two lines of 44 characters from ``A``-``Z``, ``0``-``9`` and the filler ``<``. Line 1:
``P``, a type character, the issuing state (3) and the name (39). Line 2 (1-based):

====== ============================================ =====
 pos    field                                        check
====== ============================================ =====
 1-9    document number                              10
 11-13  nationality
 14-19  birth date ``YYMMDD``                        20
 21     sex (``M``, ``F``, ``<``; ``X`` accepted)
 22-27  expiry date ``YYMMDD``                       28
 29-42  personal number / optional data              43
 44     composite over 1-10, 14-20 and 22-43
====== ============================================ =====

Check digits: weights 7 3 1 repeating, digits as themselves, ``A``=10 ... ``Z``=35, ``<``
= 0, sum mod 10 (standards.md §4.7; the ICAO specimen ``L898902C36UTO7408122F1204159
ZE184226B<<<<<10`` gives 6, 2, 9, 1 and 0). An unused personal number (all fillers) may
have ``<`` or ``0`` as its check. Every check digit and the composite are verified, and
both dates must be calendar dates (an unknown birth day or month may be ``<<``). The birth
year is put in the latest century that is not after today; the expiry year in 2000-2099.
An expired passport is not refused here: the MRZ is intact, whether it is still good for
registration is the caller's rule (:func:`info` gives the expiry). Names, states and the
sex are checked for their alphabet only. Implemented here (the ``mrz`` package is GPL).

:func:`compact` gives the 88 characters in one string; :func:`validate` and
:func:`format` give the two lines joined by ``\\n``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from trustdesk.identity.documents.checks import accepts
from trustdesk.identity.documents.errors import (
    InvalidChecksum,
    InvalidDate,
    InvalidFormat,
    InvalidLength,
)
from trustdesk.identity.documents.text import clean

NAME = "mrz.td3"
DESCRIPTION = "Passport machine readable zone (ICAO Doc 9303 TD3, 2 lines of 44)"
LINE = 44
LENGTH = 2 * LINE
MAX_INPUT = 200
LINE_1 = re.compile(r"P[A-Z<][A-Z<]{3}[A-Z<]{39}")
LINE_2 = re.compile(
    r"[0-9A-Z<]{9}[0-9][A-Z<]{3}[0-9<]{6}[0-9][MFX<][0-9]{6}[0-9][0-9A-Z<]{14}[0-9<][0-9]"
)
WEIGHTS = (7, 3, 1)


@dataclass(frozen=True, slots=True)
class Td3Info:
    """The fields of a valid TD3 MRZ, fillers trimmed (names keep ``<`` inside)."""

    document_type: str
    issuing_state: str
    primary_name: str
    secondary_names: str
    document_number: str
    nationality: str
    birth_date: datetime.date | None  # None when the day or month is unknown (``<<``)
    sex: str
    expiry_date: datetime.date
    personal_number: str


def compact(number: str) -> str:
    """The 88 characters in one string: whitespace and line breaks removed, upper-cased."""
    return clean(number, max_length=MAX_INPUT)


def calc_check_digit(field: str) -> str:
    """The 7-3-1 check digit of a field (``<`` counts 0)."""
    values = (0 if ch == "<" else int(ch, 36) for ch in field)
    return str(sum(v * WEIGHTS[i % 3] for i, v in enumerate(values)) % 10)


def _check(field: str, check: str, what: str) -> None:
    if check != calc_check_digit(field):
        raise InvalidChecksum(f"the check digit of the {what} does not match")


def _date(text: str, what: str, century: int) -> datetime.date:
    try:
        return datetime.date(century + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError as exc:
        raise InvalidDate(f"the {what} is not a calendar date") from exc


def _birth_date(text: str, today: datetime.date) -> datetime.date | None:
    year, month, day = text[:2], text[2:4], text[4:6]
    if "<" in year:
        raise InvalidDate("the birth year is digits")
    if "<" in month + day:  # an unknown month or day is written <<
        for part, top in ((month, 12), (day, 31)):
            if part != "<<" and not (part.isdigit() and 1 <= int(part) <= top):
                raise InvalidDate("the birth date is not a date (unknown parts are <<)")
        return None
    born = _date(text, "birth date", 2000)
    return born if born <= today else _date(text, "birth date", 1900)


def _lines(number: str) -> tuple[str, str]:
    code = compact(number)
    if len(code) != LENGTH:
        raise InvalidLength(f"a TD3 machine readable zone is 2 lines of {LINE} characters")
    first, second = code[:LINE], code[LINE:]
    if not LINE_1.fullmatch(first):
        raise InvalidFormat("line 1 is P, a type, the issuing state and the name (A-Z and <)")
    if not LINE_2.fullmatch(second):
        raise InvalidFormat("line 2 does not have the TD3 layout")
    return first, second


def _verify(number: str, today: datetime.date | None) -> tuple[str, str, datetime.date | None]:
    first, second = _lines(number)
    _check(second[0:9], second[9], "document number")
    _check(second[13:19], second[19], "birth date")
    _check(second[21:27], second[27], "expiry date")
    personal, personal_check = second[28:42], second[42]
    if not (personal == "<" * 14 and personal_check in "<0"):
        _check(personal, personal_check, "personal number")
    _check(second[0:10] + second[13:20] + second[21:43], second[43], "composite")
    born = _birth_date(second[13:19], today or datetime.date.today())
    _date(second[21:27], "expiry date", 2000)
    return first, second, born


def validate(number: str, today: datetime.date | None = None) -> str:
    """The two lines joined by ``\\n`` if every check holds, else why not."""
    first, second, _ = _verify(number, today)
    return f"{first}\n{second}"


def is_valid(number: str, today: datetime.date | None = None) -> bool:
    """Whether :func:`validate` accepts the zone."""
    return accepts(lambda code: validate(code, today), number)


def format(number: str) -> str:
    """The zone as printed: two lines of 44 joined by ``\\n``."""
    code = compact(number)
    return f"{code[:LINE]}\n{code[LINE:]}"


def info(number: str, today: datetime.date | None = None) -> Td3Info:
    """The fields of a valid zone (raises like :func:`validate`)."""
    first, second, born = _verify(number, today)
    primary, _, secondary = first[5:].partition("<<")
    return Td3Info(
        document_type=first[:2].rstrip("<"),
        issuing_state=first[2:5].rstrip("<"),
        primary_name=primary.strip("<"),
        secondary_names=secondary.strip("<"),
        document_number=second[0:9].rstrip("<"),
        nationality=second[10:13].rstrip("<"),
        birth_date=born,
        sex=second[20],
        expiry_date=_date(second[21:27], "expiry date", 2000),
        personal_number=second[28:42].rstrip("<"),
    )
