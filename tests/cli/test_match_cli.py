"""``trustdesk match``: one value per line in, one JSON result per line out, bad lines answered."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli import match as match_cli
from trustdesk.cli.main import app
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType

runner = CliRunner()
PDQ = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(3)]
MD5 = [hashlib.md5(str(n).encode()).hexdigest() for n in range(3)]  # noqa: S324


def _flip(value: str, bits: int) -> str:
    number = int(value, 16)
    for bit in range(bits):
        number ^= 1 << (bit * 5)
    return number.to_bytes(32, "big").hex()


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
        with database.session() as session:
            compliance.create_service(
                session,
                load_registry(),
                name="Chat",
                types=[ServiceType.ONLINE_CHAT],
                packs=["cn-xj-2014"],
            )
    for args in (
        ["create", "known-pdq", "--signal", "image.pdq", "--category", "art6.6"],
        ["add", "known-pdq", *PDQ],
        ["create", "chat-md5", "--signal", "file.md5", "--category", "art6.6", "--service", "Chat"],
        ["add", "chat-md5", *MD5, "--service", "Chat"],
    ):
        result = runner.invoke(app, ["banks", *args, "--db", url])
        assert result.exit_code == 0, result.stderr
    yield url


def _run(db: str, path: Path, *args: str) -> tuple[int, list[dict[str, object]], str]:
    result = runner.invoke(app, ["match", str(path), *args, "--db", db])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, rows, result.stderr


def test_each_line_gets_its_nearest_entries_within_the_threshold(
    db_url: str, tmp_path: Path
) -> None:
    lines = [_flip(PDQ[0], 4), PDQ[1].upper(), _flip(PDQ[2], 40), ""]
    path = tmp_path / "q.txt"
    path.write_text("\n".join(lines) + "\n")
    code, rows, err = _run(db_url, path, "--bank", "known-pdq")
    assert code == 0, err
    assert [r["line"] for r in rows] == [1, 2, 3]  # the blank line is skipped
    assert rows[0]["matches"] == [
        {"entry": rows[0]["matches"][0]["entry"], "value": PDQ[0], "distance": 4}
    ]  # type: ignore[index]
    assert [m["distance"] for m in rows[1]["matches"]] == [0]  # type: ignore[attr-defined]
    assert rows[2]["matches"] == []
    code, rows, _ = _run(db_url, path, "--bank", "known-pdq", "--threshold", "45")
    assert [m["distance"] for m in rows[2]["matches"]] == [40]  # type: ignore[attr-defined]
    assert (
        "3 lines, 3 matched, 0 errors"
        in _run(db_url, path, "--bank", "known-pdq", "--threshold", "45")[2]
    )


def test_a_services_bank_needs_the_service(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_text(MD5[1] + "\n" + MD5[0][:-1] + "0\n")
    code, rows, _ = _run(db_url, path, "--bank", "chat-md5", "--service", "Chat")
    assert code == 0 and rows[0]["matches"] and rows[0]["query"] == MD5[1]
    code, _, err = _run(db_url, path, "--bank", "chat-md5")
    assert code != 0 and "bank_not_found" in err
    code, _, err = _run(db_url, path, "--bank", "chat-md5", "--service", "Chat", "--threshold", "3")
    assert code != 0 and "invalid_match_option" in err


def test_bad_lines_are_answered_with_their_line_number_and_the_run_goes_on(
    db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "hostile.txt"
    with path.open("wb") as file:
        file.write(b"junk\n")  # 1
        file.write(b"g" * 64 + b"\n")  # 2: not hex
        file.write(PDQ[0].encode() + b"00\n")  # 3: too long for a hash
        file.write(b"\xff\xfe" + b"a" * 62 + b"\n")  # 4: not UTF-8
        file.write(b"f" * (match_cli.MAX_LINE_BYTES * 3) + b"\n")  # 5: a huge line
        file.write(b"\x00" * 64 + b"\n")  # 6: NULs
        file.write(PDQ[2].encode() + b"\r\n")  # 7: good, CRLF
    code, rows, err = _run(db_url, path, "--bank", "known-pdq")
    assert code == 0, err
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    codes = [r["error"]["code"] for r in rows[:6]]  # type: ignore[index]
    assert codes == ["invalid_pdq_hash"] * 3 + ["not_utf8", "line_too_long", "invalid_pdq_hash"]
    assert [m["value"] for m in rows[6]["matches"]] == [PDQ[2]]  # type: ignore[attr-defined]
    assert "7 lines, 1 matched, 6 errors" in err


def test_an_empty_file_answers_nothing(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    code, rows, err = _run(db_url, path, "--bank", "known-pdq")
    assert code == 0 and rows == [] and "0 lines" in err
    code, _, err = _run(db_url, tmp_path / "missing.txt", "--bank", "known-pdq")
    assert code != 0 and "cannot read" in err


def test_an_over_long_line_is_read_past_in_chunks() -> None:
    stream = io.BytesIO(b"a" * (match_cli.MAX_LINE_BYTES + 10) + b"\nshort\n\n")
    assert list(match_cli.lines(stream)) == [(1, None), (2, b"short"), (3, b"")]


def test_standard_input_the_limit_and_a_disabled_bank(db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["match", "-", "--bank", "known-pdq", "--limit", "1", "--db", db_url], input=PDQ[0]
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0 and [len(r["matches"]) for r in rows] == [1]
    path = tmp_path / "q.txt"
    path.write_text(PDQ[0] + "\n")
    code, _, err = _run(db_url, path, "--bank", "known-pdq", "--limit", "0")
    assert code != 0 and "invalid_match_option" in err
    runner.invoke(app, ["banks", "disable", "known-pdq", "--db", db_url])
    code, rows, err = _run(db_url, path, "--bank", "known-pdq")
    assert code != 0 and rows == [] and "disabled" in err
