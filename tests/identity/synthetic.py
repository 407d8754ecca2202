"""Synthetic identity numbers: made here from their check schemes, never a real person's.

Each generator computes its check characters itself, straight from the published scheme
(standards.md §4), without calling trustdesk or python-stdnum, so the validators are held
against an independent implementation. ``random_valid(type, rng)`` makes one valid
number of a type; ``wrong_checks`` gives the same number with every other check
character; ``guaranteed_mutants`` gives every single-character substitution that the
type's check scheme is guaranteed to catch (see its docstring for what that excludes).

The fixed corpus the tests walk (``corpus()``: seed 11643, 200 valid numbers per type)
holds, per type: valid / wrong check character / guaranteed single-character mutants

    cn.ric       200 /  2,000 /  32,600   (and 200 15-digit legacy numbers, converted)
    cn.uscc      200 /  8,000 / 108,000
    cn.orgcode   200 /  2,000 /  54,268
    hk.hkid      200 /  2,000 /  19,711
    mo.bir       200 /      0 /       0   (format only: no public check)
    tw.nid       200 /  1,800 /   7,400
    mrz.td3      200 /  8,163 / 138,228
    total      1,400 / 23,963 / 360,207   (1,600 valid with the legacy numbers)

``test_documents_synthetic.py`` pins these counts. The hypothesis properties draw further
numbers from the same generators: 200 examples per type for each of three properties
(4,200 in all), besides 700 arbitrary texts and 29 junk values per type in
``test_documents.py``.
"""

from __future__ import annotations

import datetime
import random
import string
from collections.abc import Callable, Iterator

TODAY = datetime.date(2026, 6, 1)  # the "today" the tests pass to the date checks

WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
# GB/T 2260 codes in cn/loc.dat with no end year (most start in 1983: also used for
# holders born before that, see cn_ric's docstring)
RIC_REGIONS = ("110101", "110102", "120101", "310104", "330106", "420102", "650102")
PERMIT_REGIONS = ("810000", "820000", "830000")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_ALPHABET = string.digits + string.ascii_uppercase
TW_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"  # A=10 ... in this order (I=34, O=35)
MRZ_ALPHABET = string.digits + string.ascii_uppercase + "<"


def ric(region: str, birth: str, sequence: str) -> str:
    """An 18-character resident identity number: ``region`` + ``YYYYMMDD`` + 3 digits."""
    body = region + birth + sequence
    check = (12 - sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


def legacy_ric(region: str, birth: str, sequence: str) -> str:
    """A 15-digit first-generation number: ``region`` + ``YYMMDD`` + 3 digits."""
    return region + birth + sequence


def orgcode(body: str) -> str:
    """A GB 11714 organisation code (compact, 9 characters) for an 8-character body."""
    total = sum(int(c, 36) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def uscc(authority: str, kind: str, region: str, body: str) -> str:
    """A unified social credit code embedding the organisation code of ``body``."""
    code = authority + kind + region + orgcode(body)
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(code))
    return code + USCC_ALPHABET[-total % 31]


def hkid(prefix: str, digits: str) -> str:
    """A Hong Kong identity card number, compact (``A1234563``)."""
    values = [36] * (2 - len(prefix)) + [int(c, 36) for c in prefix + digits]
    remainder = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True)) % 11
    return (
        prefix
        + digits
        + ("0" if remainder == 0 else "A" if remainder == 1 else str(11 - remainder))
    )


def tw_nid(letter: str, sex: str, digits: str) -> str:
    """A Taiwan national identification number for a letter, ``1``/``2`` and 7 digits."""
    expanded = str(10 + TW_LETTERS.index(letter)) + sex + digits
    total = sum(int(d) * w for d, w in zip(expanded, (1, 9, 8, 7, 6, 5, 4, 3, 2, 1), strict=True))
    return letter + sex + digits + str(-total % 10)


def mo_bir(series: str, digits: str) -> str:
    """A Macau identity card number: the series digit and 7 digits (no check to compute)."""
    return series + digits


def mrz_check(field: str) -> str:
    values = [0 if c == "<" else int(c, 36) for c in field]
    return str(sum(v * (7, 3, 1)[i % 3] for i, v in enumerate(values)) % 10)


def td3(
    *,
    number: str,
    nationality: str,
    birth: str,
    sex: str,
    expiry: str,
    personal: str,
    state: str,
    name: str,
) -> str:
    """A TD3 machine readable zone, the two lines joined by ``\\n``."""
    first = f"P<{state}{name}".ljust(44, "<")[:44]
    doc = number.ljust(9, "<")
    opt = personal.ljust(14, "<")
    opt_check = "<" if opt == "<" * 14 else mrz_check(opt)
    second = (
        doc + mrz_check(doc) + nationality + birth + mrz_check(birth) + sex
        + expiry + mrz_check(expiry) + opt + opt_check
    )  # fmt: skip
    second += mrz_check(second[0:10] + second[13:20] + second[21:43])
    return f"{first}\n{second}"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _date(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def _ric(rng: random.Random) -> str:
    region = rng.choice(RIC_REGIONS + PERMIT_REGIONS)
    born = _date(rng, datetime.date(1930, 1, 1), TODAY)
    return ric(region, born.strftime("%Y%m%d"), _digits(rng, 3))


def _uscc(rng: random.Random) -> str:
    body = "".join(rng.choice(USCC_ALPHABET) for _ in range(8))
    return uscc(rng.choice("123456789ANY"), rng.choice("1239"), _digits(rng, 6), body)


def _orgcode(rng: random.Random) -> str:
    return orgcode("".join(rng.choice(ORG_ALPHABET) for _ in range(8)))


def _hkid(rng: random.Random) -> str:
    prefix = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.choice((1, 2))))
    return hkid(prefix, _digits(rng, 6))


def _tw_nid(rng: random.Random) -> str:
    return tw_nid(rng.choice(string.ascii_uppercase), rng.choice("12"), _digits(rng, 7))


def _mo_bir(rng: random.Random) -> str:
    return mo_bir(rng.choice("01578"), _digits(rng, 7))


def _td3(rng: random.Random) -> str:
    letters = string.ascii_uppercase
    number = "".join(rng.choice(letters + string.digits) for _ in range(rng.randint(6, 9)))
    born = _date(rng, TODAY.replace(year=TODAY.year - 99) + datetime.timedelta(days=1), TODAY)
    expires = _date(rng, datetime.date(2000, 1, 1), datetime.date(2099, 12, 31))
    personal = rng.choice(("", _digits(rng, rng.randint(1, 14))))
    surname = "".join(rng.choice(letters) for _ in range(rng.randint(2, 12)))
    given = "".join(rng.choice(letters) for _ in range(rng.randint(2, 12)))
    return td3(
        number=number,
        nationality="".join(rng.choice(letters) for _ in range(3)),
        birth=born.strftime("%y%m%d"),
        sex=rng.choice("MFX<"),
        expiry=expires.strftime("%y%m%d"),
        personal=personal,
        state="".join(rng.choice(letters) for _ in range(3)),
        name=f"{surname}<<{given}",
    )


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "cn.ric": _ric,
    "cn.uscc": _uscc,
    "cn.orgcode": _orgcode,
    "hk.hkid": _hkid,
    "mo.bir": _mo_bir,
    "tw.nid": _tw_nid,
    "mrz.td3": _td3,
}


def random_valid(type_name: str, rng: random.Random) -> str:
    """One valid number of the type, as its generator writes it (compact; MRZ in 2 lines)."""
    return GENERATORS[type_name](rng)


def random_legacy_ric(rng: random.Random) -> tuple[str, str]:
    """A 15-digit number and the 18-character number it converts to."""
    region = rng.choice(RIC_REGIONS)
    born = _date(rng, datetime.date(1930, 1, 1), datetime.date(1999, 12, 31))
    sequence = _digits(rng, 3)
    return legacy_ric(region, born.strftime("%y%m%d"), sequence), ric(
        region, born.strftime("%Y%m%d"), sequence
    )


def corpus(per_type: int = 200, seed: int = 11643) -> dict[str, list[str]]:
    """The fixed corpus: ``per_type`` valid numbers of every type, the same every run."""
    rng = random.Random(seed)  # noqa: S311  reproducible test data, not a secret
    return {name: [make(rng) for _ in range(per_type)] for name, make in GENERATORS.items()}


# Where each type's check characters sit (in the compact form; the MRZ's line 2 starts
# at 44 once the newline is removed), and what each may be.
CHECKS: dict[str, Callable[[str], dict[int, str]]] = {
    "cn.ric": lambda n: {17: string.digits + "X"},
    "cn.uscc": lambda n: {16: string.digits + "X", 17: USCC_ALPHABET},
    "cn.orgcode": lambda n: {8: string.digits + "X"},
    "hk.hkid": lambda n: {len(n) - 1: string.digits + "A"},
    "mo.bir": lambda n: {},
    "tw.nid": lambda n: {9: string.digits},
    # an unused personal number (all <) may have < or 0 as its check: neither is wrong
    "mrz.td3": lambda n: (
        {44 + i: string.digits for i in (9, 19, 27, 43)}
        | ({} if n[72:86] == "<" * 14 else {86: string.digits})
    ),
}


def _compact(number: str) -> str:
    return number.replace("\n", "")


def _relayout(type_name: str, compact: str) -> str:
    return f"{compact[:44]}\n{compact[44:]}" if type_name == "mrz.td3" else compact


def wrong_checks(type_name: str, number: str) -> list[str]:
    """The number with each check character replaced by every other one it may be.

    For ``cn.uscc`` the embedded organisation code's check (position 17) is included.
    """
    compact = _compact(number)
    out = []
    for position, allowed in CHECKS[type_name](compact).items():
        for ch in allowed:
            if ch == compact[position]:
                continue
            out.append(_relayout(type_name, compact[:position] + ch + compact[position + 1 :]))
    return out


def _value(ch: str) -> int:
    return 0 if ch == "<" else int(ch, 36)


def _substitutions(compact: str, positions: dict[int, str]) -> Iterator[tuple[int, str]]:
    for position, allowed in positions.items():
        for ch in allowed:
            if ch != compact[position]:
                yield position, ch


def _ric_substitutions(compact: str) -> Iterator[tuple[int, str]]:
    # MOD 11-2: every weight is a unit mod 11 and values stay below 11: all caught
    yield from _substitutions(compact, dict.fromkeys(range(17), string.digits))
    yield from _substitutions(compact, CHECKS["cn.ric"](compact))


def _uscc_substitutions(compact: str) -> Iterator[tuple[int, str]]:
    # mod 31 over a 31-character alphabet, weights 3^k (units mod 31): all caught
    yield from _substitutions(compact, dict.fromkeys(range(18), USCC_ALPHABET))


def _mod11_substitutions(type_name: str) -> Callable[[str], Iterator[tuple[int, str]]]:
    # mod 11 with unit weights: a change is caught unless it moves a value by 11k
    def substitutions(compact: str) -> Iterator[tuple[int, str]]:
        if type_name == "cn.orgcode":
            body = dict.fromkeys(range(8), ORG_ALPHABET)
        else:
            letters = len(compact) - 7
            body = {
                i: string.ascii_uppercase if i < letters else string.digits
                for i in range(len(compact) - 1)
            }
        for position, ch in _substitutions(compact, body):
            if (_value(ch) - _value(compact[position])) % 11:
                yield position, ch
        yield from _substitutions(compact, CHECKS[type_name](compact))

    return substitutions


def _tw_substitutions(compact: str) -> Iterator[tuple[int, str]]:
    # mod 10: only weights 1, 3, 7, 9 catch every digit change (positions 2, 6, 8, 9);
    # the sex digit (weight 8) can only be 1 or 2, a change of 1, which 8 catches
    yield from _substitutions(compact, {1: "12"} | dict.fromkeys((2, 6, 8, 9), string.digits))


def _td3_substitutions(compact: str) -> Iterator[tuple[int, str]]:
    # 7-3-1 mod 10: every weight is a unit mod 10, so a change in a checked field is
    # caught unless it moves a value by 10k; names, states and sex are unchecked
    fields = [(0, 9, MRZ_ALPHABET), (13, 19, string.digits), (21, 27, string.digits)]
    if compact[72:86] != "<" * 14:
        fields.append((28, 42, MRZ_ALPHABET))
    for start, end, allowed in fields:
        positions = dict.fromkeys(range(44 + start, 44 + end), allowed)
        for position, ch in _substitutions(compact, positions):
            if (_value(ch) - _value(compact[position])) % 10:
                yield position, ch
    yield from _substitutions(compact, CHECKS["mrz.td3"](compact))


GUARANTEED: dict[str, Callable[[str], Iterator[tuple[int, str]]]] = {
    "cn.ric": _ric_substitutions,
    "cn.uscc": _uscc_substitutions,
    "cn.orgcode": _mod11_substitutions("cn.orgcode"),
    "hk.hkid": _mod11_substitutions("hk.hkid"),
    "mo.bir": lambda compact: iter(()),
    "tw.nid": _tw_substitutions,
    "mrz.td3": _td3_substitutions,
}


def guaranteed_mutants(type_name: str, number: str) -> list[str]:
    """Every single-character substitution the type's check scheme must catch.

    ``mo.bir`` has none (no public check). Substitutions a scheme cannot catch are left
    out: in mod-11 schemes a letter moved by 11 (``A``<->``L``), in the Taiwan ID the
    letter and the digits weighted 2, 4, 5, 6 or 8, in the MRZ the name, states, sex and
    letters moved by 10. Some mutants also break the format or a date; they must be
    refused all the same.
    """
    compact = _compact(number)
    return [
        _relayout(type_name, compact[:position] + ch + compact[position + 1 :])
        for position, ch in GUARANTEED[type_name](compact)
    ]
