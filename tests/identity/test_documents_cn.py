"""``cn.ric``, ``cn.uscc`` and ``cn.orgcode``, and what python-stdnum gets wrong about them.

Every number here is synthetic (``synthetic.py``), except the organisation-code body
``60003734`` that python-stdnum's own doctest uses, and numbers printed in standards.md
§4 that were built for it.
"""

from __future__ import annotations

import datetime

import pytest
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from trustdesk.identity.documents import cn_orgcode, cn_ric, cn_uscc, errors

from synthetic import TODAY, legacy_ric, orgcode, ric, uscc

BORN_2099 = ric("110102", "20990101", "001")
BORN_1970_XIHU = ric("330106", "19700101", "003")  # 西湖区: in stdnum's data from 1983


# --- what python-stdnum 2.2 gets wrong (pinned, so an upgrade that fixes it shows) ---


def test_stdnum_accepts_a_birth_date_in_the_future_and_we_do_not() -> None:
    assert stdnum_ric.is_valid(BORN_2099)
    with pytest.raises(errors.FutureDate):
        cn_ric.validate(BORN_2099, today=TODAY)
    tomorrow = TODAY + datetime.timedelta(days=1)
    assert cn_ric.is_valid(ric("110101", TODAY.strftime("%Y%m%d"), "002"), today=TODAY)
    assert not cn_ric.is_valid(ric("110101", tomorrow.strftime("%Y%m%d"), "002"), today=TODAY)


@pytest.mark.parametrize(
    ("region", "birth"),
    [("810000", "19800101"), ("820000", "19850101"), ("830000", "19850101")],
)
def test_residence_permits_are_valid_by_check_and_date_alone(region: str, birth: str) -> None:
    number = ric(region, birth, "001")
    assert not stdnum_ric.is_valid(number)
    assert cn_ric.validate(number, today=TODAY) == number
    found = cn_ric.info(number, today=TODAY)
    assert found.residence_permit
    assert found.region_code == region
    broken = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(errors.InvalidChecksum):
        cn_ric.validate(broken, today=TODAY)
    with pytest.raises(errors.FutureDate):
        cn_ric.validate(ric(region, "20990101", "001"), today=TODAY)


def test_the_standards_note_examples_get_the_documented_verdicts() -> None:
    assert stdnum_ric.is_valid("110102209901010013")
    assert not cn_ric.is_valid("110102209901010013", today=TODAY)
    for number in ("810000198001010014", "820000198501010020", "830000198501010030"):
        assert not stdnum_ric.is_valid(number)
        assert cn_ric.is_valid(number, today=TODAY)


def test_legacy_fifteen_digit_numbers_are_converted() -> None:
    old = legacy_ric("110102", "900101", "001")
    new = ric("110102", "19900101", "001")
    assert not stdnum_ric.is_valid(old)
    assert cn_ric.validate(old, today=TODAY) == new
    assert cn_ric.to_eighteen(old) == new
    assert cn_ric.info(old, today=TODAY).converted_from_legacy
    assert not cn_ric.info(new, today=TODAY).converted_from_legacy
    assert cn_ric.format(old) == old
    with pytest.raises(errors.InvalidDate):
        cn_ric.validate(legacy_ric("110102", "901301", "001"))
    with pytest.raises(errors.InvalidFormat):
        cn_ric.validate("11010290010100X")
    with pytest.raises(errors.InvalidRegion):
        cn_ric.validate(legacy_ric("999999", "900101", "001"))


def test_a_division_code_newer_than_the_holder_is_the_place_of_first_registration() -> None:
    assert not stdnum_ric.is_valid(BORN_1970_XIHU)
    found = cn_ric.info(BORN_1970_XIHU, today=TODAY)
    assert (found.region, found.region_named) == ("浙江省 西湖区", True)
    # a code that had ended before the holder was born could not have been given to them
    with pytest.raises(errors.InvalidRegion):
        cn_ric.validate(ric("110103", "20150101", "001"), today=TODAY)  # 崇文区, to 2010
    assert cn_ric.is_valid(ric("110103", "20100101", "001"), today=TODAY)


def test_stdnum_refuses_letter_authorities_and_misses_the_embedded_check() -> None:
    for authority in "ANY":
        code = uscc(authority, "1", "110000", "60003734")
        assert not stdnum_uscc.is_valid(code)
        assert cn_uscc.validate(code) == code
    # both check characters right for stdnum's alphabet, the organisation code's wrong
    body = "91110000600037340"
    wrong = body + stdnum_uscc.calc_check_digit(body + "0")
    assert stdnum_uscc.is_valid(wrong)
    with pytest.raises(errors.InvalidChecksum, match="organisation code"):
        cn_uscc.validate(wrong)


# --- cn.ric ---


def test_ric_info_gives_birth_date_and_named_region() -> None:
    number = ric("110101", "19900307", "123")
    found = cn_ric.info(number.lower(), today=TODAY)
    assert found == cn_ric.RicInfo(
        number=number,
        birth_date=datetime.date(1990, 3, 7),
        region_code="110101",
        region="北京市 东城区",
        region_named=True,
        residence_permit=False,
        converted_from_legacy=False,
    )
    with pytest.raises(AttributeError):
        found.region = "x"  # type: ignore[misc]


def test_ric_region_falls_back_to_the_province_code_when_stdnum_has_no_name() -> None:
    taiwan = cn_ric.info(ric("830000", "19850101", "003"), today=TODAY)
    assert (taiwan.region, taiwan.region_named) == ("830000", False)
    hong_kong = cn_ric.info(ric("810000", "19850101", "003"), today=TODAY)
    assert (hong_kong.region, hong_kong.region_named) == ("香港特別行政區", True)


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("11010119900307123", errors.InvalidLength),
        ("1101011990030712345", errors.InvalidLength),
        ("11010119900307123Y", errors.InvalidFormat),
        ("1101011990030712X3", errors.InvalidFormat),
        (ric("110101", "19900230", "123"), errors.InvalidDate),
        (ric("110101", "18990101", "123"), errors.InvalidDate),
        (ric("999999", "19900307", "123"), errors.InvalidRegion),
        (ric("110199", "19900307", "123"), errors.InvalidRegion),
    ],
)
def test_ric_refusals_say_why(number: str, error: type[errors.DocumentError]) -> None:
    with pytest.raises(error) as caught:
        cn_ric.validate(number, today=TODAY)
    assert type(caught.value) is error
    assert number not in caught.value.message


def test_ric_compact_takes_separators_full_width_digits_and_a_lower_x() -> None:
    number = ric("110101", "19900307", "12" + "0")
    spaced = f"{number[:6]} {number[6:14]}-{number[14:]}"
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    for written in (spaced, full_width, f"  {number}\n"):
        assert cn_ric.compact(written) == number
        assert cn_ric.validate(written, today=TODAY) == number
    with_x = next(
        ric("110101", "19900307", f"{s:03d}")
        for s in range(1000)
        if ric("110101", "19900307", f"{s:03d}").endswith("X")
    )
    assert cn_ric.validate(with_x.lower(), today=TODAY) == with_x


def test_ric_check_character_agrees_with_stdnum() -> None:
    for sequence in range(0, 1000, 7):
        number = ric("310104", "19851212", f"{sequence:03d}")
        assert cn_ric.calc_check_digit(number[:17]) == stdnum_ric.calc_check_digit(number)


# --- cn.orgcode and cn.uscc ---


def test_orgcode_check_format_and_refusals() -> None:
    assert orgcode("60003734") == "600037341"  # standards.md §4.5
    assert cn_orgcode.validate("60003734-1") == "600037341"
    assert cn_orgcode.format("600037341") == "60003734-1"
    assert cn_orgcode.calc_check_digit("60003734") == "1"
    with_x = next(orgcode(f"A{n:07d}") for n in range(1000) if orgcode(f"A{n:07d}")[-1] == "X")
    assert cn_orgcode.validate(with_x.lower()) == with_x
    for number, error in [
        ("60003734", errors.InvalidLength),
        ("60003734-12", errors.InvalidLength),
        ("6000373_-1", errors.InvalidFormat),
        ("60003734-A", errors.InvalidFormat),
        ("60003734-2", errors.InvalidChecksum),
    ]:
        with pytest.raises(error):
            cn_orgcode.validate(number)


def test_uscc_refusals_say_why() -> None:
    good = uscc("9", "1", "110000", "60003734")
    assert good == "91110000600037341L"  # python-stdnum's doctest example
    assert cn_uscc.organisation_code(good) == "60003734-1"
    assert cn_uscc.format(f"{good[:2]} {good[2:8]} {good[8:]}") == good
    for number, error in [
        (good[:-1], errors.InvalidLength),
        (good.replace("L", "I"), errors.InvalidFormat),
        ("B" + good[1:], errors.InvalidComponent),
        ("0" + good[1:], errors.InvalidComponent),
        ("9A" + good[2:], errors.InvalidFormat),
        (good[:-1] + "M", errors.InvalidChecksum),
    ]:
        with pytest.raises(error):
            cn_uscc.validate(number)
