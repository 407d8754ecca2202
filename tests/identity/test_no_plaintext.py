"""No plaintext document number or name outside the vault: database, server log, exports.

A real server runs on a real SQLite file. The test plants one number and one name, drives
every path that touches them (registration, a rejected variant, a duplicate, status, the
publishing gate, erasure, a disclosure from request to reveal, key rotation, the erasure
purge, the log export), stops the server, and then reads every byte it left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from trustdesk import demo

from support import bearer, clean_environment, running_server
from synthetic import ric

NUMBER = ric("320102", "19870723", "519")
LEGACY = NUMBER[:6] + NUMBER[8:17]
WRONG = NUMBER[:-1] + ("1" if NUMBER[-1] != "1" else "2")  # a failed check character
NAME = "Plantedname 植入姓名"
SECRETS = (NUMBER, LEGACY, WRONG, NAME, "Plantedname", "植入姓名")


def cli(folder: Path, *args: str) -> str:
    db = f"sqlite:///{folder / 'var' / 'serve.db'}"
    done = subprocess.run(  # stdout only: warnings go to stderr
        [sys.executable, "-m", "trustdesk", *args, "--db", db],
        cwd=folder,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [s for s in SECRETS if s in done.stderr] == []
    return done.stdout


def registration(subject: str, number: str) -> dict[str, object]:
    return {
        "subject": subject,
        "kind": "individual",
        "name": NAME,
        "document": {"type": "cn.ric", "number": number},
    }


def exercise(folder: Path, base: str) -> str:
    """Drive every path; returns everything the HTTP API and CLI answered but the reveal."""
    key = demo.SERVICES[0].api_key
    officer, first, second = (
        json.loads(cli(folder, "users", "token", name))["token"]
        for name in ("compliance.dana", "approver.eli", "approver.fang")
    )
    answers: list[str] = []
    with httpx.Client(base_url=base, headers=bearer(key), timeout=30) as client:
        for body in (
            registration("planted", WRONG),
            registration("planted", NUMBER),
            registration("planted", NUMBER),
            registration("copycat", LEGACY),
            registration("copycat", NUMBER),
        ):
            answers.append(client.post("/v1/identities", json=body).text)
        answers.append(client.get("/v1/identities/planted").text)
        screen = {"content": {"id": "p1", "text": "hello"}, "subject": "planted"}
        answers.append(client.post("/v1/screen", json=screen).text)
        request = {
            "service_id": client.get("/v1/service").json()["id"],
            "authority": "Example Court",
            "legal_basis": "Example Law art. 1",
            "reference": "EX-1",
            "subjects": ["planted"],
        }
        made = client.post("/v1/disclosures", json=request, headers=bearer(officer))
        assert made.status_code == 201, made.text
        did = made.json()["id"]
        for token in (first, second):
            vote = client.post(f"/v1/disclosures/{did}/approve", json={}, headers=bearer(token))
            answers.append(vote.text)
        reveal = client.post(f"/v1/disclosures/{did}/reveal", headers=bearer(officer))
        assert reveal.json()["identities"][0]["number"] == NUMBER  # the one place it appears
        answers.append(cli(folder, "vault", "rotate", "--by", "test"))
        answers.append(client.delete("/v1/identities/planted").text)
        answers.append(cli(folder, "vault", "purge"))
        answers.append(client.get("/v1/log/entries?start=0&end=1000").text)
        answers.append(cli(folder, "log", "verify"))
    return "\n".join(answers)


def test_nothing_outside_the_vault_holds_the_number_or_the_name(tmp_path: Path) -> None:
    erase_at_once = {
        "TRUSTDESK_IDENTITY_RETENTION_DAYS": "0",
        "TRUSTDESK_ACCESS_LOG": "true",  # (off by default) each request's line is read too
    }
    with running_server(tmp_path, "--demo", env=erase_at_once) as (base, _process):
        answers = exercise(tmp_path, base)
    leaks = [s for s in SECRETS if s in answers]
    assert leaks == [], answers
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "serve.db" for p in files)
    assert any(p.name == "server.log" for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in SECRETS:
            for encoding in ("utf-8", "utf-16-le"):
                assert secret.encode(encoding) not in content, f"{secret!r} in {path}"
    log_text = (tmp_path / "server.log").read_text()
    assert "/v1/identities" in log_text  # the server did log the requests
