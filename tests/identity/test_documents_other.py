"""``hk.hkid``, ``mo.bir``, ``tw.nid`` and ``mrz.td3``: known answers and refusals.

Known answers are the specimens standards.md §4.6-4.7 checks by hand (``A123456(3)``,
``A123456789``, the ICAO Doc 9303 specimen passport of Anna Maria Eriksson of Utopia);
everything else comes from ``synthetic.py``.
"""

from __future__ import annotations

import datetime

import pytest

from trustdesk.identity.documents import errors, hk_hkid, mo_bir, mrz_td3
from trustdesk.identity.documents import tw_nid as tw

from synthetic import TODAY, hkid, mrz_check, td3, tw_nid

SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
)


def test_hkid_known_answer_and_layouts() -> None:
    assert hkid("A", "123456") == "A1234563"
    for written in ("A123456(3)", "a123456(3)", "A 123456 (3)", "A1234563"):
        assert hk_hkid.validate(written) == "A1234563"
    assert hk_hkid.format("A1234563") == "A123456(3)"
    two_letters = hkid("XA", "000000")
    assert hk_hkid.validate(two_letters) == two_letters
    with_a = next(hkid("C", f"{n:06d}") for n in range(1000) if hkid("C", f"{n:06d}")[-1] == "A")
    assert hk_hkid.format(with_a).endswith("(A)")
    assert hk_hkid.is_valid(with_a)


@pytest.mark.parametrize(
    ("number", "error"),
    [
        ("A12345(3)", errors.InvalidLength),
        ("ABC123456(3)", errors.InvalidLength),
        ("1A23456(3)", errors.InvalidFormat),
        ("A12345B(3)", errors.InvalidFormat),
        ("A123456(B)", errors.InvalidFormat),
        ("A123456(4)", errors.InvalidChecksum),
    ],
)
def test_hkid_refusals(number: str, error: type[errors.DocumentError]) -> None:
    with pytest.raises(error):
        hk_hkid.validate(number)


def test_macau_is_format_only() -> None:
    assert mo_bir.validate("1234567(8)") == "12345678"
    assert mo_bir.validate("1/234567/8") == "12345678"
    assert mo_bir.format("12345678") == "1234567(8)"
    assert "format only" in mo_bir.DESCRIPTION
    assert "not public" in (mo_bir.__doc__ or "")
    for last in "0123456789":  # no check digit to get wrong
        assert mo_bir.is_valid(f"5123456{last}")
    for number, error in [
        ("1234567", errors.InvalidLength),
        ("1234567A", errors.InvalidFormat),
        ("21234567", errors.InvalidComponent),
    ]:
        with pytest.raises(error):
            mo_bir.validate(number)


def test_taiwan_known_answer_and_refusals() -> None:
    assert tw_nid("A", "1", "2345678") == "A123456789"
    assert tw.validate("a123456789") == "A123456789"
    assert tw.calc_check_digit("A12345678") == "9"
    for letter in "IOWZ":  # the irregular end of the letter table
        number = tw_nid(letter, "2", "0000001")
        assert tw.validate(number) == number
    for number, error in [
        ("A12345678", errors.InvalidLength),
        ("1123456789", errors.InvalidFormat),
        ("A1234567X9", errors.InvalidFormat),
        ("A323456789", errors.InvalidComponent),
        ("A823456789", errors.InvalidComponent),
        ("A123456788", errors.InvalidChecksum),
    ]:
        with pytest.raises(error):
            tw.validate(number)


def test_mrz_specimen_checks_and_fields() -> None:
    line_2 = SPECIMEN.split("\n")[1]
    assert [line_2[9], line_2[19], line_2[27], line_2[42], line_2[43]] == list("62910")
    assert mrz_td3.calc_check_digit("L898902C3") == "6"
    assert mrz_td3.validate(SPECIMEN, today=TODAY) == SPECIMEN
    assert mrz_td3.validate(SPECIMEN.replace("\n", " "), today=TODAY) == SPECIMEN
    assert mrz_td3.validate(SPECIMEN.replace("\n", "\r\n").lower(), today=TODAY) == SPECIMEN
    assert mrz_td3.compact(SPECIMEN) == SPECIMEN.replace("\n", "")
    assert mrz_td3.format(mrz_td3.compact(SPECIMEN)) == SPECIMEN
    assert mrz_td3.info(SPECIMEN, today=TODAY) == mrz_td3.Td3Info(
        document_type="P",
        issuing_state="UTO",
        primary_name="ERIKSSON",
        secondary_names="ANNA<MARIA",
        document_number="L898902C3",
        nationality="UTO",
        birth_date=datetime.date(1974, 8, 12),
        sex="F",
        expiry_date=datetime.date(2012, 4, 15),  # expired: intact all the same
        personal_number="ZE184226B",
    )


def _zone(**changes: str) -> str:
    fields = {
        "number": "C01X00T47",
        "nationality": "D<<",
        "birth": "640812",
        "sex": "F",
        "expiry": "310101",
        "personal": "",
        "state": "D<<",
        "name": "MUSTERMANN<<ERIKA",
    }
    return td3(**(fields | changes))


def test_mrz_centuries_unknown_birth_parts_and_an_unused_personal_number() -> None:
    zone = _zone(birth="251231")
    assert mrz_td3.info(zone, today=TODAY).birth_date == datetime.date(2025, 12, 31)
    assert mrz_td3.info(zone, today=datetime.date(2025, 12, 30)).birth_date == (
        datetime.date(1925, 12, 31)
    )
    assert mrz_td3.info(_zone(birth="64<<<<"), today=TODAY).birth_date is None
    assert mrz_td3.info(_zone(birth="6408<<"), today=TODAY).birth_date is None
    line_1, line_2 = _zone().split("\n")
    assert line_2[28:43] == "<" * 15  # unused, its check written <
    line_2 = line_2[:42] + "0"  # or 0, with the composite to match
    line_2 += mrz_check(line_2[0:10] + line_2[13:20] + line_2[21:43])
    assert mrz_td3.is_valid(f"{line_1}\n{line_2}", today=TODAY)


@pytest.mark.parametrize(
    ("zone", "error"),
    [
        (SPECIMEN[:-1], errors.InvalidLength),
        (SPECIMEN + "<", errors.InvalidLength),
        ("V" + SPECIMEN[1:], errors.InvalidFormat),
        (SPECIMEN.replace("ERIKSSON", "ERIKSS0N"), errors.InvalidFormat),
        (SPECIMEN.replace("UTO74", "UT074"), errors.InvalidFormat),
        (SPECIMEN.replace("C36", "C35"), errors.InvalidChecksum),
        (SPECIMEN.replace("7408122", "7408123"), errors.InvalidChecksum),
        (SPECIMEN.replace("1204159", "1204158"), errors.InvalidChecksum),
        (SPECIMEN.replace("<<<<<10", "<<<<<20"), errors.InvalidChecksum),
        (SPECIMEN.replace("<<<<<10", "<<<<<11"), errors.InvalidChecksum),
        (_zone(birth="641312"), errors.InvalidDate),
        (_zone(birth="<<0812"), errors.InvalidDate),
        (_zone(birth="6413<<"), errors.InvalidDate),
        (_zone(expiry="310230"), errors.InvalidDate),
    ],
)
def test_mrz_refusals_say_which_check_failed(zone: str, error: type[errors.DocumentError]) -> None:
    with pytest.raises(error) as caught:
        mrz_td3.validate(zone, today=TODAY)
    assert type(caught.value) is error
