"""``trustdesk banks``: create, add, import (all or nothing), export, disable, list."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli.main import app
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType

runner = CliRunner()
MD5 = [hashlib.md5(str(n).encode()).hexdigest() for n in range(300)]  # noqa: S324


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
    yield url


def invoke(db: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["banks", *args, "--db", db])
    return result.exit_code, result.stdout, result.stderr


def test_help_shows_an_example() -> None:
    result = runner.invoke(app, ["banks", "--help"])
    assert result.exit_code == 0 and "Example: trustdesk banks create" in result.stdout
    for command in ("create", "list", "add", "remove", "import", "export", "disable", "enable"):
        assert command in result.stdout


def test_a_bank_from_creation_to_export(db_url: str, tmp_path: Path) -> None:
    code, out, err = invoke(
        db_url,
        "create",
        "known",
        "--signal",
        "file.md5",
        "--category",
        "art6.6",
        "--service",
        "Chat",
        "--action",
        "block",
    )
    assert code == 0, err
    bank = json.loads(out)
    assert (bank["name"], bank["action"], bank["entries"]) == ("known", "block", 0)
    code, out, err = invoke(db_url, "create", "hq", "--signal", "image.pdq", "--category", "art6.6")
    assert code == 0 and json.loads(out)["service"] is None and json.loads(out)["threshold"] == 31
    junk = tmp_path / "junk.txt"
    junk.write_text("\n".join([*MD5[:5], "oops", *MD5[5:10]]), encoding="utf-8")
    code, out, err = invoke(db_url, "import", "known", str(junk), "--service", "Chat")
    assert code == 1 and "invalid_bank_file" in err and "junk.txt:6:1" in err
    good = tmp_path / "good.csv"
    rows = "".join(f"video_md5,{v},n{n}\r\n" for n, v in enumerate(MD5))
    good.write_bytes(("\ufeffsignal_type,signal_val,note\r\n" + rows).encode())
    code, out, err = invoke(db_url, "import", "known", str(good), "--service", "Chat")
    assert code == 0, err
    assert json.loads(out)["added"] == len(MD5)
    code, out, err = invoke(db_url, "remove", "known", MD5[0], MD5[1], "--service", "Chat")
    assert json.loads(out)["removed"] == 2
    code, out, err = invoke(db_url, "add", "known", MD5[0], "--service", "Chat", "--note", "back")
    assert json.loads(out)["added"] == 1
    code, out, err = invoke(db_url, "export", "known", "--service", "Chat")
    assert code == 0 and sorted(out.splitlines()) == sorted(
        f"video_md5 {v}" for v in MD5 if v != MD5[1]
    )
    code, out, err = invoke(db_url, "export", "known", "--service", "Chat", "--at", "2000-01-01")
    assert code == 0 and out == ""  # the bank held nothing then
    code, out, err = invoke(db_url, "disable", "known", "--service", "Chat")
    assert code == 0 and json.loads(out)["enabled"] is False
    code, out, err = invoke(db_url, "list", "--format", "json")
    listed = {b["name"]: (b["enabled"], b["entries"]) for b in json.loads(out)}
    assert listed == {"known": (False, len(MD5) - 1), "hq": (True, 0)}
    code, out, err = invoke(db_url, "disable", "nope")
    assert code == 1 and "bank_not_found" in err
