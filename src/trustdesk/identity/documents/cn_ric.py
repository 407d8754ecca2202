"""Resident identity number, GB 11643-1999 (公民身份号码): ``cn.ric``.

Eighteen characters: a six-digit GB/T 2260 division code, the birth date ``YYYYMMDD``, a
three-digit sequence (odd for men) and an ISO 7064 MOD 11-2 check character (``X`` for
10). Built on python-stdnum's ``stdnum.cn.ric`` (2.2: the check character, the calendar
date) and its division data ``cn/loc.dat`` (names, and the years each county existed),
and corrected where stdnum is wrong (standards.md §4.1-4.3):

- a birth date after today is refused (stdnum accepts ``...2099...``); ``today`` is a
  parameter so tests can pin it;
- residence permits of Hong Kong, Macau and Taiwan residents (港澳台居民居住证; division
  codes 810000, 820000, 830000) are valid by check character and date alone (stdnum
  refuses 81/82 for births before 1997/1999 and does not know 830000);
- first-generation 15-digit numbers (``YYMMDD``, no check character) are recognised and
  converted: ``19`` is inserted before the year and the check character computed, so
  :func:`validate` always returns the 18-character number;
- the division code is the place of *first registration*, not of birth, so it must have
  been in use in or after the birth year, not in it: stdnum refuses everyone born before
  1983 in the thousands of counties whose data starts in 1983 (``330106`` 西湖区, born
  1970). A code that had ended before the birth year is still refused.

Birth years before 1900 are refused as dates. :func:`info` gives the birth date and the
region: the province and county names python-stdnum ships in ``cn/loc.dat`` (the county
as named in the birth year when it already existed) when it has them, otherwise the
province-level code (``830000`` has no entry there).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from stdnum import numdb
from stdnum.cn import ric as stdnum_ric
from stdnum.exceptions import ValidationError

from trustdesk.identity.documents.checks import accepts, weighted_sum
from trustdesk.identity.documents.errors import (
    FutureDate,
    InvalidChecksum,
    InvalidDate,
    InvalidFormat,
    InvalidLength,
    InvalidRegion,
)
from trustdesk.identity.documents.text import clean, is_ascii_digits

NAME = "cn.ric"
DESCRIPTION = "Resident identity number (居民身份证, GB 11643-1999), residence permits included"
LENGTH = 18
LEGACY_LENGTH = 15
MAX_INPUT = 40
PERMIT_REGIONS = frozenset({"810000", "820000", "830000"})  # Hong Kong, Macau, Taiwan
EARLIEST_BIRTH_YEAR = 1900
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2


@dataclass(frozen=True, slots=True)
class RicInfo:
    """What a valid number says about its holder.

    ``region`` is the province and county names from python-stdnum's ``cn/loc.dat`` when
    it has them (``region_named`` true), else the province-level code such as ``830000``.
    """

    number: str
    birth_date: datetime.date
    region_code: str
    region: str
    region_named: bool
    residence_permit: bool
    converted_from_legacy: bool


def compact(number: str) -> str:
    """The number without spaces or hyphens, upper-cased (``x`` becomes ``X``)."""
    return clean(number, max_length=MAX_INPUT, delete="-")


def calc_check_digit(body: str) -> str:
    """The MOD 11-2 check character of the first 17 digits."""
    check = (12 - weighted_sum(map(int, body), WEIGHTS) % 11) % 11
    return "X" if check == 10 else str(check)


def to_eighteen(number: str) -> str:
    """A 15-digit first-generation number as its 18-character form (born 19YY)."""
    body = f"{number[:6]}19{number[6:]}"
    return body + calc_check_digit(body)


def _birth_date(number: str, today: datetime.date) -> datetime.date:
    try:
        born = stdnum_ric.get_birth_date(number)
    except ValidationError as exc:
        raise InvalidDate("the birth date is not a calendar date") from exc
    if born.year < EARLIEST_BIRTH_YEAR:
        raise InvalidDate(f"the birth year is before {EARLIEST_BIRTH_YEAR}")
    if born > today:
        raise FutureDate()
    return born


def _eighteen(number: str) -> tuple[str, bool]:
    """The compact 18-character number and whether it was converted from 15 digits."""
    code = compact(number)
    if len(code) == LEGACY_LENGTH:
        if not is_ascii_digits(code):
            raise InvalidFormat("a 15-digit number has digits only")
        return to_eighteen(code), True
    if len(code) != LENGTH:
        raise InvalidLength(f"a resident identity number is {LENGTH} (or 15) characters")
    if not is_ascii_digits(code[:17]) or not (is_ascii_digits(code[17]) or code[17] == "X"):
        raise InvalidFormat("17 digits and a check character (a digit or X)")
    if code[17] != stdnum_ric.calc_check_digit(code):
        raise InvalidChecksum()
    return code, False


def _county(code: str, year: int) -> str:
    """The county name for a division code in use in or after ``year``, else InvalidRegion.

    ``cn/loc.dat`` gives each county its years as ``[start-end]name`` entries. stdnum
    wants the county to have existed in the birth year; but the code is the place of
    first registration (1984 onwards for the first cards), so a code whose data starts in
    1983 is right for someone born in 1970. Only a code that had ended before the birth
    year cannot be.
    """
    found = {k: v for _, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    candidates: list[tuple[bool, str]] = []
    for entry in found.get("county", "").split(","):
        years, _, name = entry[1:].partition("]") if entry.startswith("[") else ("-", "", entry)
        start, _, end = years.partition("-")
        if name and (not end or int(end) >= year):
            candidates.append((not start or int(start) <= year, name))
    if not candidates:
        msg = "the division code is unknown, or had ended before the birth year"
        raise InvalidRegion(msg)
    return max(candidates, key=lambda c: c[0])[1]  # the name in use at birth if there is one


def _check(number: str, today: datetime.date | None) -> tuple[str, datetime.date, bool]:
    code, converted = _eighteen(number)
    born = _birth_date(code, today or datetime.date.today())
    if code[:6] not in PERMIT_REGIONS:
        _county(code[:6], born.year)
    return code, born, converted


def validate(number: str, today: datetime.date | None = None) -> str:
    """The 18-character number if valid (15 digits are converted), else why not."""
    return _check(number, today)[0]


def is_valid(number: str, today: datetime.date | None = None) -> bool:
    """Whether :func:`validate` accepts the number."""
    return accepts(lambda code: validate(code, today), number)


def format(number: str) -> str:
    """The number as printed: its compact form (a 15-digit number stays 15 digits)."""
    return compact(number)


def info(number: str, today: datetime.date | None = None) -> RicInfo:
    """The birth date and region of a valid number (raises like :func:`validate`)."""
    code, born, converted = _check(number, today)
    found = numdb.get("cn/loc").info(code[:2])  # names for 81 and 82, none for 83
    names = [props["province"] for _, props in found if "province" in props]
    if code[:6] not in PERMIT_REGIONS:
        names.append(_county(code[:6], born.year))
    region = " ".join(names) if names else f"{code[:2]}0000"
    return RicInfo(
        number=code,
        birth_date=born,
        region_code=code[:6],
        region=region,
        region_named=bool(names),
        residence_permit=code[:6] in PERMIT_REGIONS,
        converted_from_legacy=converted,
    )
