"""Where servers stand and whom they serve: ISO 3166 codes and China's GB/T 2260 divisions.

Locations are ISO 3166-2 subdivision codes (``CN-XJ``, ``DE-BE``) checked against pycountry;
a country that ISO 3166-2 does not subdivide may be given by its ISO 3166-1 code. User
populations are ISO 3166-1 or ISO 3166-2 codes. For China a server may also carry its
GB/T 2260 administrative division code (six digits: province, prefecture, county); its
province prefix must be the one of its ISO 3166-2:CN subdivision (:data:`GBT2260_PROVINCES`).

Hong Kong, Macau and Taiwan are both ISO 3166-2:CN subdivisions (``CN-HK``) and ISO 3166-1
countries (``HK``); the codes are compared as written, so a rule for ``CN`` covers
``CN-HK`` but not ``HK``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pycountry

from trustdesk.errors import InvalidInput

# The 34 province-level divisions of GB/T 2260 and their ISO 3166-2:CN subdivisions.
GBT2260_PROVINCES: Mapping[str, str] = MappingProxyType(
    {
        "11": "CN-BJ",  # 北京市
        "12": "CN-TJ",  # 天津市
        "13": "CN-HE",  # 河北省
        "14": "CN-SX",  # 山西省
        "15": "CN-NM",  # 内蒙古自治区
        "21": "CN-LN",  # 辽宁省
        "22": "CN-JL",  # 吉林省
        "23": "CN-HL",  # 黑龙江省
        "31": "CN-SH",  # 上海市
        "32": "CN-JS",  # 江苏省
        "33": "CN-ZJ",  # 浙江省
        "34": "CN-AH",  # 安徽省
        "35": "CN-FJ",  # 福建省
        "36": "CN-JX",  # 江西省
        "37": "CN-SD",  # 山东省
        "41": "CN-HA",  # 河南省
        "42": "CN-HB",  # 湖北省
        "43": "CN-HN",  # 湖南省
        "44": "CN-GD",  # 广东省
        "45": "CN-GX",  # 广西壮族自治区
        "46": "CN-HI",  # 海南省
        "50": "CN-CQ",  # 重庆市
        "51": "CN-SC",  # 四川省
        "52": "CN-GZ",  # 贵州省
        "53": "CN-YN",  # 云南省
        "54": "CN-XZ",  # 西藏自治区
        "61": "CN-SN",  # 陕西省
        "62": "CN-GS",  # 甘肃省
        "63": "CN-QH",  # 青海省
        "64": "CN-NX",  # 宁夏回族自治区
        "65": "CN-XJ",  # 新疆维吾尔自治区
        "71": "CN-TW",  # 台湾省
        "81": "CN-HK",  # 香港特别行政区
        "82": "CN-MO",  # 澳门特别行政区
    }
)
# Divisions below province level are not coded for these three in GB/T 2260.
_PROVINCE_ONLY = frozenset({"71", "81", "82"})

_COUNTRY = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")
_DIVISION = re.compile(r"[0-9]{6}")


class InvalidLocation(InvalidInput):
    code = "invalid_location"


def _shown(value: str) -> str:
    return repr(value[:40])


def _clean(code: str) -> str:
    code = code.strip()
    return code.upper() if code.isascii() else code


def _subdivisions(**query: str) -> Any:
    return pycountry.subdivisions.get(**query)  # type: ignore[no-untyped-call]  # untyped upstream


def _country(code: str) -> bool:
    return bool(_COUNTRY.fullmatch(code)) and pycountry.countries.get(alpha_2=code) is not None


def _subdivision(code: str) -> bool:
    if not _SUBDIVISION.fullmatch(code):
        return False
    found = _subdivisions(code=code)
    return found is not None and found.code == code


def location(code: str) -> str:
    """An ISO 3166-2 subdivision code, or the ISO 3166-1 code of an undivided country."""
    code = _clean(code)
    if _subdivision(code):
        return code
    if _country(code) and not _subdivisions(country_code=code):
        return code
    msg = f"{_shown(code)} is not an ISO 3166-2 subdivision code like CN-XJ"
    raise InvalidLocation(msg)


def region(code: str) -> str:
    """An ISO 3166-1 country code or ISO 3166-2 subdivision code (a user population)."""
    code = _clean(code)
    if _country(code) or _subdivision(code):
        return code
    raise InvalidLocation(f"{_shown(code)} is not an ISO 3166 code like CN or CN-XJ")


def division(code: str, where: str) -> str:
    """A GB/T 2260 code for a server at ``where`` (its ISO 3166-2:CN subdivision)."""
    code = code.strip()
    if not _DIVISION.fullmatch(code):
        raise InvalidLocation(f"{_shown(code)} is not a GB/T 2260 code (six digits)")
    province, prefecture, county = code[:2], code[2:4], code[4:]
    subdivision = GBT2260_PROVINCES.get(province)
    if subdivision is None:
        raise InvalidLocation(f"{code} does not start with a GB/T 2260 province code")
    if prefecture == "00" and county != "00":
        raise InvalidLocation(f"{code} names a county without a prefecture")
    if province in _PROVINCE_ONLY and code != f"{province}0000":
        raise InvalidLocation(f"GB/T 2260 codes {province} only at province level ({province}0000)")
    if subdivision != where:
        msg = f"the GB/T 2260 code {code} is in {subdivision}, not in the location {where}"
        raise InvalidLocation(msg)
    return code


def within(place: str, area: str) -> bool:
    """Whether the location ``place`` lies in ``area`` (a country or a subdivision)."""
    return place == area or place.startswith(area + "-")


def overlaps(population: str, area: str) -> bool:
    """Whether users of ``population`` include users in ``area`` (or the other way round)."""
    return within(population, area) or within(area, population)
