"""``trustdesk identity check``: verdicts, reasons, details and exit codes (0, 1, 2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from identity.synthetic import ric, uscc
from trustdesk.cli.main import app

runner = CliRunner()
NUMBER = ric("110101", "19900307", "123")
SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["identity", *args], env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def test_a_valid_resident_number_prints_birth_date_and_region() -> None:
    code, out, err = invoke("check", "--type", "cn.ric", NUMBER)
    assert (code, err) == (0, "")
    assert out == (
        f"valid cn.ric\nnumber: {NUMBER}\nbirth date: 1990-03-07\nregion: 北京市 东城区 (110101)\n"
    )


def test_a_legacy_number_is_shown_converted_and_as_json() -> None:
    code, out, _ = invoke("check", "--type", "cn.ric", "--format", "json", "110102900101001")
    assert code == 0
    assert json.loads(out) == {
        "type": "cn.ric",
        "valid": True,
        "number": ric("110102", "19900101", "001"),
        "birth_date": "1990-01-01",
        "region": "北京市 西城区",
        "region_code": "110102",
        "residence_permit": False,
        "converted_from_legacy": True,
    }


def test_a_taiwan_residence_permit_shows_its_region_code() -> None:
    code, out, _ = invoke("check", "--type", "cn.ric", ric("830000", "19850101", "003"))
    assert code == 0
    assert "region: 830000\n" in out


def test_an_invalid_number_prints_the_reason_and_exits_1() -> None:
    broken = NUMBER[:-1] + ("1" if NUMBER[-1] != "1" else "2")
    code, out, err = invoke("check", "--type", "cn.ric", broken)
    assert (code, err) == (1, "")
    assert out.startswith("invalid cn.ric [invalid_checksum] ")
    code, out, _ = invoke("check", "--type", "cn.ric", "--format", "json", "2099")
    assert code == 1
    answer = json.loads(out)
    assert (answer["valid"], answer["reason"]) == (False, "invalid_length")
    assert answer["message"]


def test_other_types_print_their_normalised_form() -> None:
    code, out, _ = invoke("check", "--type", "hk.hkid", "a1234563")
    assert (code, out) == (0, "valid hk.hkid\nnumber: A123456(3)\n")
    code, out, _ = invoke("check", "--type", "cn.uscc", uscc("N", "2", "330100", "MA2XXXXX"))
    assert code == 0
    code, out, _ = invoke("check", "--type", "mrz.td3", SPECIMEN.replace("\n", " "))
    lines = SPECIMEN.split("\n")
    assert (code, out) == (0, f"valid mrz.td3\nnumber: {lines[0]}\n        {lines[1]}\n")
    code, out, _ = invoke("check", "--type", "mo.bir", "--format", "json", "1234567(8)")
    assert (code, json.loads(out)) == (0, {"type": "mo.bir", "valid": True, "number": "12345678"})


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--type", "cn.passport", NUMBER),
        ("check", NUMBER),
        ("check", "--type", "cn.ric"),
        ("check", "--type", "cn.ric", "--format", "xml", NUMBER),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    code, out, err = invoke(*args)
    assert code == 2
    assert out == ""
    assert "Traceback" not in err


def test_an_unknown_type_names_the_known_ones() -> None:
    code, _, err = invoke("check", "--type", "cn.passport", NUMBER)
    assert code == 2
    assert "[unknown_document_type]" in err
    assert "cn.ric, cn.uscc, cn.orgcode, hk.hkid, mo.bir, tw.nid, mrz.td3" in err


def test_junk_numbers_are_verdicts_not_crashes() -> None:
    for junk in ("", "€", "😴", "\x00", "x" * 100_000):
        for type_name in ("cn.ric", "mrz.td3", "mo.bir"):
            code, out, _ = invoke("check", "--type", type_name, junk)
            assert code == 1
            assert out.startswith(f"invalid {type_name} [")


def test_help_lists_the_command() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    assert "check" in out
