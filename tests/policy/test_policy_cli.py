"""``trustdesk policy``: list, show and check, with good and bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli.main import app

WritePack = Callable[..., Path]  # the write_pack fixture
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_configured_packs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRUSTDESK_PACK_DIRS", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["policy", *args], env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def test_list_shows_the_shipped_packs() -> None:
    code, out, _ = invoke("list")
    assert code == 0
    assert "cn-xj-2014" in out
    assert "Digital Services Act" in out
    code, out, _ = invoke("list", "--format", "json", "--lang", "zh")
    assert code == 0
    assert json.loads(out) == [
        {
            "id": "cn-xj-2014",
            "version": "1.0.0",
            "title": {
                "zh": "新疆维吾尔自治区人民政府关于加强互联网信息安全管理的通知",
                "en": "Notice of the Xinjiang Uygur Autonomous Region People's Government on "
                "internet information security management",
            },
            "effective": "2014-12-24",
            "basis": "law",
        },
        {
            "id": "eu-dsa",
            "version": "1.0.0",
            "title": {
                "zh": "数字服务法（条例 (EU) 2022/2065）",
                "en": "Digital Services Act (Regulation (EU) 2022/2065)",
            },
            "effective": "2024-02-17",
            "basis": "law",
        },
    ]


def test_list_includes_operator_packs(
    write_pack: WritePack, monkeypatch: pytest.MonkeyPatch, operator_pack: str
) -> None:
    folder = write_pack()
    code, out, _ = invoke("list", "--pack-dir", str(folder))
    assert code == 0
    assert "acme-terms" in out
    other = write_pack(operator_pack.replace("acme-terms", "acme-kids"), folder="configured")
    monkeypatch.setenv("TRUSTDESK_PACK_DIRS", json.dumps([str(other)]))
    code, out, _ = invoke("list", "--format", "json", "--pack-dir", str(folder))
    assert [pack["id"] for pack in json.loads(out)] == [
        "acme-kids",
        "acme-terms",
        "cn-xj-2014",
        "eu-dsa",
    ]


def test_show_json_is_the_pack_document() -> None:
    code, out, _ = invoke("show", "cn-xj-2014", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert list(document)[:6] == ["id", "version", "title", "basis", "jurisdiction", "effective"]
    assert "display" not in document
    first = document["categories"][0]
    assert first["id"] == "art6.1"
    assert first["label"] == {"zh": "反对宪法基本原则", "en": "Opposing constitutional principles"}
    assert first["automated_detection"] is False
    assert first["severity"] == "medium"
    retention = next(o for o in document["obligations"] if o["kind"] == "record_preservation")
    assert retention["params"] == {"retention_days": 60}
    assert document["actions"][0] == {
        "id": "stop_dissemination",
        "article": "7",
        "label": {"zh": "停止发布、传输", "en": "Stop publication and transmission"},
        "sor": None,
    }


def test_show_json_with_a_language_adds_display_texts() -> None:
    code, out, _ = invoke("show", "eu-dsa", "--format", "json", "--lang", "zh")
    assert code == 0
    document = json.loads(out)
    assert document["lang"] == "zh"
    assert document["display"] == "数字服务法（条例 (EU) 2022/2065）"
    assert document["categories"][0]["label"] == {"zh": "动物福利", "en": "Animal welfare"}
    assert document["categories"][0]["display"] == "动物福利"
    assert document["obligations"][0]["display"] == "每年发布透明度报告"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["Notice of the Xinjiang", "Violent terrorism", "Keep servers inside the region"]),
        ("zh", ["新疆维吾尔自治区人民政府", "暴力恐怖", "在自治区行政区域内设置服务器"]),
    ],
)
def test_show_text_in_either_language(lang: str, expected: list[str]) -> None:
    code, out, _ = invoke("show", "cn-xj-2014", "--lang", lang)
    assert code == 0
    for text in [*expected, "art6.10", "effective: 2014-12-24", "close_account", "no: notices"]:
        assert text in out


def test_show_text_defaults_to_english() -> None:
    code, out, _ = invoke("show", "eu-dsa")
    assert code == 0
    assert "Digital Services Act" in out
    assert "DECISION_ACCOUNT_TERMINATED" in out


@pytest.mark.parametrize("pack_id", ["nope", "../../etc/passwd"])
def test_show_an_unknown_pack(pack_id: str) -> None:
    code, out, err = invoke("show", pack_id)
    assert code == 1
    assert out == ""
    assert "pack_not_found" in err


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--format", "yaml"],
        ["show", "eu-dsa", "--format", "xml"],
        ["show", "eu-dsa", "--lang", "fr"],
        ["show"],
        ["list", "--pack-dir", "/nonexistent/folder"],
        ["check", "/nonexistent/pack.yaml"],
    ],
)
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    code, _, err = invoke(*args)
    assert code == 2
    assert "Traceback" not in err


def test_check_a_good_pack(write_pack: WritePack) -> None:
    folder = write_pack()
    code, out, _ = invoke("check", str(folder))
    assert code == 0
    assert out == (f"OK {folder}: pack acme-terms 1 (1 categories, 1 obligations, 1 actions)\n")
    code, _, _ = invoke("check", str(folder / "pack.yaml"))
    assert code == 0


def test_check_a_bad_pack_lists_every_problem(write_pack: WritePack, operator_pack: str) -> None:
    text = operator_pack.replace("basis: terms", "basis: whim").replace(
        "actions: [delete]", "actions: [delete, frobnicate]"
    )
    folder = write_pack(text)
    code, out, err = invoke("check", str(folder))
    assert code == 1
    assert out == ""
    file = folder / "pack.yaml"
    lines = err.splitlines()
    assert lines[0] == f"{file}:4:8: basis: Input should be 'law' or 'terms'"
    assert lines[1].startswith(f"{file}:27:25: obligations.0.params.actions.1: Input should be")
    assert "2 problem(s) found" in lines[2]
    assert "invalid_source" in lines[2]


def test_check_a_built_in_id_collision(write_pack: WritePack, operator_pack: str) -> None:
    folder = write_pack(operator_pack.replace("id: acme-terms", "id: eu-dsa"))
    code, _, err = invoke("check", str(folder))
    assert code == 1
    assert f"{folder / 'pack.yaml'}:1:5: id: the pack id 'eu-dsa' is already used by" in err


def test_a_configured_pack_folder_that_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTDESK_PACK_DIRS", '["/nonexistent/packs"]')
    code, _, err = invoke("list")
    assert code == 3
    assert "configuration_error" in err
