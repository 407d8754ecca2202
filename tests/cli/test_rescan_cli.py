"""``trustdesk rescan`` on SQLite and PostgreSQL: the report, refusals that write nothing, and
a rescan killed mid-run (SIGKILL, a real process) that resumes to the report of one never
interrupted, acting once on each item."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, select, text

from trustdesk.cases.models import Case
from trustdesk.db.engine import make_engine
from trustdesk.screening.models import ContentItem, Rescan

from rescans import Stored, database_url, store
from support import TemporaryPostgres, clean_environment, free_port


@pytest.fixture
def stored(backend: str, tmp_path: Path) -> Iterator[Stored]:
    url, postgres = database_url(backend, tmp_path)
    yield store(tmp_path, url, postgres, rounds=2)
    if postgres is not None:
        postgres.drop()


def _copy(source: Stored, folder: Path) -> Stored:
    """The same database (rows, ids and times) under another name."""
    folder.mkdir()
    if source.postgres is None:
        shutil.copy(make_url(source.url).database or "", folder / "desk.db")
        url, postgres = f"sqlite:///{folder / 'desk.db'}", None
    else:
        postgres = TemporaryPostgres()
        with postgres.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE "{postgres.name}"'))
            conn.execute(
                text(f'CREATE DATABASE "{postgres.name}" TEMPLATE "{source.postgres.name}"')
            )
        url = postgres.url
    shutil.copytree(source.folder / "keys", folder / "keys")
    shutil.copy(source.folder / "new.yaml", folder / "new.yaml")
    env = {**source.env, "TRUSTDESK_DATABASE_URL": url}
    env["TRUSTDESK_LOG_DIGEST_KEY_PATH"] = str(folder / "keys" / "digest.key")
    return Stored(url, source.service_id, source.since, env, folder, postgres)


def _args(stored: Stored, *more: str, ruleset: str = "new.yaml") -> list[str]:
    ruleset_path = str(stored.folder / ruleset) if ruleset.endswith(".yaml") else ruleset
    return [
        "--service",
        stored.service_id,
        "--since",
        stored.since,
        "--ruleset",
        ruleset_path,
        *more,
    ]


def test_the_report_as_json_and_as_a_table(stored: Stored) -> None:
    code, out, err = stored.invoke(*_args(stored, "--json"))
    assert code == 0, err
    report = json.loads(out)["report"]
    assert report["items"] == 8 and report["applied"] == 0
    assert report["changes"] == {
        "newly_held": 2,
        "newly_blocked": 2,
        "relaxed": 0,
        "released": 2,
        "unchanged": 2,
    }
    assert report["rules"][0]["rule"] == "gambling-ads" and report["rules"][0]["items_lost"] == 2
    code, out, err = stored.invoke(*_args(stored))
    assert code == 0, err
    assert "newly blocked" in out and "fraud-bait" in out and "never lifts" in out


REFUSALS = [
    (["--since", "last tuesday"], "invalid_since"),
    (["--service", "00000000-0000-0000-0000-000000000000"], "service_not_found"),
    (["--ruleset", "ab" * 32], "ruleset_not_found"),
    (["--ruleset", "no-such-file-or-version"], "ruleset_not_found"),
    (["--ruleset", "broken.yaml"], "invalid_source"),
    (["--ruleset", "outside.yaml"], "category_not_in_service_packs"),
    (["--engine", "ray", "--address", "127.0.0.1:{port}"], "ray_unreachable"),
    (["--address", "127.0.0.1:{port}"], "invalid_input"),
]


@pytest.mark.parametrize(("change", "code"), REFUSALS, ids=[c for _, c in REFUSALS])
def test_a_refused_rescan_says_why_and_writes_nothing(
    stored: Stored, change: list[str], code: str
) -> None:
    (stored.folder / "broken.yaml").write_text("rules:\n  - id: [unclosed\n", encoding="utf-8")
    args = _args(stored)
    for option, given in zip(change[::2], change[1::2], strict=True):
        value = given.format(port=free_port())
        value = str(stored.folder / value) if value.endswith(".yaml") else value
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    items = stored.count(ContentItem)
    exit_code, _, err = stored.invoke(*args)
    assert exit_code != 0 and f"[{code}]" in err, err
    assert stored.count(Rescan) == 0 and stored.count(ContentItem) == items


def _engine(stored: Stored) -> Engine:
    return make_engine(stored.url)


def _progress(engine: Engine) -> tuple[str, int] | None:
    with engine.connect() as connection:
        row = connection.execute(select(Rescan.status, Rescan.report)).first()
    return None if row is None else (row[0], row[1]["items"])


def test_a_killed_rescan_resumes_to_the_same_report_acting_once(
    backend: str, tmp_path: Path
) -> None:
    url, postgres = database_url(backend, tmp_path)
    # 600 items, 300 made stricter: enough pages that the kill lands mid-run on a fast box
    stored = store(tmp_path, url, postgres, rounds=150)
    try:
        twin = _copy(stored, tmp_path / "twin")
        code, out, err = twin.invoke(*_args(twin, "--apply", "--page", "10", "--json"))
        assert code == 0, err
        uninterrupted = json.loads(out)["report"]
        assert uninterrupted["applied"] == 300

        command = [sys.executable, "-m", "trustdesk", "rescan", *_args(stored, "--apply")]
        env = clean_environment(**stored.env)
        process = subprocess.Popen(
            [*command, "--page", "10"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        engine = _engine(stored)
        try:
            deadline = time.monotonic() + 120
            seen = None
            while time.monotonic() < deadline and process.poll() is None:
                seen = _progress(engine)
                if seen is not None and seen[1] >= 10:  # a page counted (and acted on)
                    break
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            killed_at = _progress(engine)
        finally:
            engine.dispose()
        assert killed_at is not None and killed_at[0] == "running", killed_at
        assert 10 <= killed_at[1] < 600

        code, out, err = stored.invoke(*_args(stored, "--apply", "--page", "7", "--json"))
        assert code == 0, err
        resumed = json.loads(out)
        assert resumed["resumed"] and "resuming rescan" in err
        assert resumed["report"] == uninterrupted
        # acted once on each stricter item: one stored verdict and one case per content
        assert stored.count(ContentItem) == 600 + 300
        assert stored.count(Case) == twin.count(Case) == 300
        if twin.postgres is not None:
            twin.postgres.drop()
    finally:
        if postgres is not None:
            postgres.drop()
