"""ISO 3166 locations and populations, GB/T 2260 divisions and their province table."""

from __future__ import annotations

import pycountry
import pytest

from trustdesk.compliance import locations
from trustdesk.compliance.locations import GBT2260_PROVINCES, InvalidLocation

from support import HOSTILE_STRINGS


def test_the_province_table_covers_every_iso_subdivision_of_china_once() -> None:
    iso = {s.code for s in pycountry.subdivisions.get(country_code="CN")}
    assert len(GBT2260_PROVINCES) == 34
    assert set(GBT2260_PROVINCES.values()) == iso
    assert GBT2260_PROVINCES["65"] == "CN-XJ"
    assert GBT2260_PROVINCES["11"] == "CN-BJ"
    assert GBT2260_PROVINCES["81"] == "CN-HK"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("CN-XJ", "CN-XJ"),
        (" cn-xj ", "CN-XJ"),
        ("US-CA", "US-CA"),
        ("DE-BE", "DE-BE"),
        ("VA", "VA"),
        ("HK", "HK"),
    ],
)
def test_locations_are_iso_3166_2_subdivisions(given: str, expected: str) -> None:
    assert locations.location(given) == expected


@pytest.mark.parametrize(
    "given", ["CN", "US", "XX-YY", "CN-ZZ", "CN_XJ", "CNXJ", "cn-xj-1", *HOSTILE_STRINGS]
)
def test_bad_locations_are_refused(given: str) -> None:
    with pytest.raises(InvalidLocation):
        locations.location(given)


@pytest.mark.parametrize("given", ["CN", "CN-XJ", "US", "DE-BE", "HK"])
def test_populations_are_countries_or_subdivisions(given: str) -> None:
    assert locations.region(given) == given


@pytest.mark.parametrize("given", ["XX", "EU", "CN-ZZ", "C", *HOSTILE_STRINGS])
def test_bad_populations_are_refused(given: str) -> None:
    with pytest.raises(InvalidLocation):
        locations.region(given)


@pytest.mark.parametrize(
    ("code", "where"),
    [
        ("650000", "CN-XJ"),
        ("650100", "CN-XJ"),
        ("650102", "CN-XJ"),
        ("110105", "CN-BJ"),
        ("810000", "CN-HK"),
    ],
)
def test_division_codes_match_their_subdivision(code: str, where: str) -> None:
    assert locations.division(code, where) == code


@pytest.mark.parametrize(
    ("code", "where", "message"),
    [
        ("110000", "CN-XJ", "is in CN-BJ"),
        ("990000", "CN-XJ", "province"),
        ("650012", "CN-XJ", "county without a prefecture"),
        ("810100", "CN-HK", "province level"),
        ("65010", "CN-XJ", "six digits"),
        ("6501020", "CN-XJ", "six digits"),
        ("65O102", "CN-XJ", "six digits"),
        ("６５０１０２", "CN-XJ", "six digits"),
        ("", "CN-XJ", "six digits"),
    ],
)
def test_bad_division_codes_are_refused(code: str, where: str, message: str) -> None:
    with pytest.raises(InvalidLocation, match=message):
        locations.division(code, where)


def test_within_and_overlaps() -> None:
    assert locations.within("CN-XJ", "CN-XJ")
    assert locations.within("CN-XJ", "CN")
    assert not locations.within("CN", "CN-XJ")
    assert not locations.within("CN-XZ", "CN-X")
    assert locations.overlaps("CN", "CN-XJ")
    assert locations.overlaps("CN-XJ", "CN")
    assert not locations.overlaps("CN-BJ", "CN-XJ")
    assert not locations.overlaps("HK", "CN")
