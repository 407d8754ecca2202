"""The record log over HTTP: key, checkpoints, entries and proofs, checked as an auditor would."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from trustdesk.app import create_app, desk_of
from trustdesk.auth import service as auth
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import merkle
from trustdesk.records import service as records
from trustdesk.records.note import (
    generate_signer,
    open_checkpoint,
    parse_signer_key,
    parse_verifier_key,
)
from trustdesk.settings import Settings

from support import ServiceFactory, assert_problem, bearer, token_for


def b64d(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def test_service_creation_is_recorded(client: TestClient, make_service: ServiceFactory) -> None:
    created = make_service("Recorded")
    entries = client.get("/v1/log/entries?start=0&end=100", headers=bearer(created.api_key))
    assert entries.status_code == 200
    leaves = [json.loads(b64d(e["leaf"])) for e in entries.json()]
    assert [leaf["type"] for leaf in leaves] == ["compliance:service:created", "auth:apikey:issued"]
    assert all(leaf["service"] == str(created.service.id) for leaf in leaves)
    assert created.api_key not in entries.text


def test_an_auditor_checks_inclusion_and_consistency_with_standard_proofs(
    client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    auditor = token_for(database, "auditor.one", Role.AUDITOR)
    key = client.get("/v1/log/key").json()
    verifier = parse_verifier_key(key["verifier_key"])
    make_service("One")
    first = client.get("/v1/log/checkpoint").json()
    for n in range(3):
        make_service(f"more {n}")
    second = client.get("/v1/log/checkpoint").json()
    assert second["size"] > first["size"] > 0

    signed = open_checkpoint(second["checkpoint"], [verifier], origin=key["origin"])
    assert signed.size == second["size"]
    assert signed.root_hash == b64d(second["root_hash"])

    entries = client.get(f"/v1/log/entries?start=0&end={second['size']}", headers=bearer(auditor))
    assert entries.status_code == 200
    assert [e["index"] for e in entries.json()] == list(range(second["size"]))
    for entry in entries.json():
        leaf_hash = merkle.leaf_hash(b64d(entry["leaf"]))
        assert leaf_hash == b64d(entry["leaf_hash"])
        proof = client.get(
            f"/v1/log/proof/inclusion?index={entry['index']}&size={second['size']}"
        ).json()
        assert proof["index"] == entry["index"]
        merkle.verify_inclusion(
            leaf_hash,
            entry["index"],
            second["size"],
            [b64d(p) for p in proof["proof"]],
            signed.root_hash,
        )
    consistency = client.get(
        f"/v1/log/proof/consistency?first={first['size']}&second={second['size']}"
    ).json()
    merkle.verify_consistency(
        first["size"],
        second["size"],
        [b64d(p) for p in consistency["proof"]],
        b64d(first["root_hash"]),
        b64d(second["root_hash"]),
    )


def test_entries_are_scoped_to_the_caller(
    client: TestClient, database: Database, make_service: ServiceFactory
) -> None:
    mine, theirs = make_service("Mine"), make_service("Theirs")
    own = client.get("/v1/log/entries?start=0&end=1000", headers=bearer(mine.api_key)).json()
    assert {json.loads(b64d(e["leaf"]))["service"] for e in own} == {str(mine.service.id)}
    assert str(theirs.service.id) not in json.dumps(own)
    moderator = token_for(database, "mod.one", Role.MODERATOR)
    assert_problem(
        client.get("/v1/log/entries?start=0&end=10", headers=bearer(moderator)),
        403,
        "permission_denied",
    )
    assert_problem(client.get("/v1/log/entries?start=0&end=10"), 401, "unauthenticated")


@pytest.mark.parametrize(
    "query",
    [
        "/v1/log/entries?start=-1&end=5",
        "/v1/log/entries?start=a&end=5",
        "/v1/log/entries?start=0",
        "/v1/log/entries?start=0&end=99999999999999999999999",
        "/v1/log/proof/inclusion?index=0",
        "/v1/log/proof/consistency?first=1&second=1e9",
    ],
)
def test_malformed_queries_are_refused(
    client: TestClient, make_service: ServiceFactory, query: str
) -> None:
    created = make_service()
    assert_problem(client.get(query, headers=bearer(created.api_key)), 422, "invalid_request")


def test_control_characters_in_a_query_are_a_bad_request(
    client: TestClient, make_service: ServiceFactory
) -> None:
    created = make_service()
    query = "/v1/log/proof/inclusion?index=%00&size=1"
    assert_problem(client.get(query, headers=bearer(created.api_key)), 400, "bad_request")


@pytest.mark.parametrize(
    "query",
    [
        "/v1/log/proof/inclusion?index=5&size=2",
        "/v1/log/proof/inclusion?index=0&size=1000000",
        "/v1/log/proof/consistency?first=0&second=2",
        "/v1/log/proof/consistency?first=3&second=2",
        "/v1/log/entries?start=5&end=2",
    ],
)
def test_impossible_proofs_are_refused(
    client: TestClient, make_service: ServiceFactory, query: str
) -> None:
    created = make_service()
    response = client.get(query, headers=bearer(created.api_key))
    assert_problem(response, 422, "invalid_proof_request")


def test_expired_and_unknown_user_tokens_are_refused(
    client: TestClient, database: Database
) -> None:
    token_for(database, "auditor.two", Role.AUDITOR)
    assert_problem(
        client.get("/v1/log/entries?start=0&end=1", headers=bearer("tdu_unknown")),
        401,
        "invalid_credentials",
    )
    with database.session() as session:
        old = auth.issue_user_token(
            session, "auditor.two", days=1, now=utcnow() - timedelta(days=2)
        )
    assert_problem(
        client.get("/v1/log/entries?start=0&end=1", headers=bearer(old)),
        401,
        "invalid_credentials",
    )


def test_a_user_token_cannot_act_as_a_service(client: TestClient, database: Database) -> None:
    auditor = token_for(database, "auditor.three", Role.AUDITOR)
    assert_problem(client.get("/v1/service", headers=bearer(auditor)), 403, "permission_denied")


def test_checkpoints_are_signed_periodically_while_the_log_grows(
    settings: Settings, packs: PackRegistry, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ticking.db'}"
    ticking = settings.model_copy(update={"checkpoint_interval_seconds": 1, "database_url": url})
    with Database.from_url(url) as database:
        migrate.upgrade(database.engine)
        with TestClient(create_app(ticking, database)) as client:
            with database.session() as session:
                compliance.create_service(session, packs, name="Ticking", types=[ServiceType.OTHER])
            latest = None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                with database.session() as session:
                    latest = records.latest_checkpoint(session)
                if latest is not None and latest.size == 2:
                    break
                time.sleep(0.2)
            assert latest is not None
            assert latest.size == 2
            assert client.get("/healthz").status_code == 200


def test_the_stdlib_verifier_in_the_auditing_guide_checks_our_proofs(
    client: TestClient, database: Database, make_service: ServiceFactory, tmp_path: Path
) -> None:
    script = Path(__file__).resolve().parents[2] / "docs" / "auditing" / "verify_log_proof.py"
    for n in range(3):
        make_service(f"Audited {n}")
    auditor = token_for(database, "auditor.guide", Role.AUDITOR)
    checkpoint = client.get("/v1/log/checkpoint").json()
    (tmp_path / "checkpoint.json").write_text(json.dumps(checkpoint))
    entries = client.get(
        f"/v1/log/entries?start=0&end={checkpoint['size']}", headers=bearer(auditor)
    ).json()

    def run(leaf_b64: str) -> subprocess.CompletedProcess[str]:
        files = [str(tmp_path / "checkpoint.json"), str(tmp_path / "proof.json")]
        return subprocess.run(
            [sys.executable, str(script), *files, leaf_b64],
            capture_output=True,
            text=True,
            check=False,
        )

    for entry in entries:
        proof = client.get(
            f"/v1/log/proof/inclusion?index={entry['index']}&size={checkpoint['size']}"
        )
        (tmp_path / "proof.json").write_text(proof.text)
        assert run(entry["leaf"]).returncode == 0
        forged = base64.b64encode(b64d(entry["leaf"]) + b" ").decode()
        assert run(forged).returncode == 1


def test_the_stdlib_verifier_checks_a_kept_checkpoint(
    app: FastAPI, client: TestClient, make_service: ServiceFactory, tmp_path: Path
) -> None:
    """The guide's script proves today's log consistent with a checkpoint the auditor kept,
    checks both signatures with the pinned key, and fails a cut or rewritten log."""
    script = Path(__file__).resolve().parents[2] / "docs" / "auditing" / "verify_log_proof.py"
    key = client.get("/v1/log/key").json()["verifier_key"]
    for n in range(3):
        make_service(f"Kept {n}")
    kept = client.get("/v1/log/checkpoint").json()
    for n in range(4):
        make_service(f"Later {n}")
    current = client.get("/v1/log/checkpoint").json()
    assert current["size"] > kept["size"] > 0

    def run(kept_doc: object, current_doc: object, first: int, second: int) -> tuple[int, str]:
        for name, doc in (("kept", kept_doc), ("checkpoint", current_doc)):
            text = doc if isinstance(doc, str) else json.dumps(doc)
            (tmp_path / f"{name}.json").write_text(text, encoding="utf-8")
        if first <= second:
            proof = client.get(f"/v1/log/proof/consistency?first={first}&second={second}")
            (tmp_path / "consistency.json").write_text(proof.text)
        files = [str(tmp_path / n) for n in ("checkpoint.json", "consistency.json")]
        arguments = ["--key", key, "--checkpoint", str(tmp_path / "kept.json"), *files]
        done = subprocess.run(
            [sys.executable, str(script), *arguments], capture_output=True, text=True, check=False
        )
        return done.returncode, done.stdout + done.stderr

    code, output = run(kept, current, kept["size"], current["size"])
    assert code == 0, output
    assert run(kept["checkpoint"], current, kept["size"], current["size"])[0] == 0  # the note
    code, output = run(current, kept, kept["size"], current["size"])  # the tail was cut
    assert code == 1
    assert "entries were cut" in output
    signer = desk_of(app).log_signer
    origin = client.get("/v1/log/key").json()["origin"]
    rewritten = f"{origin}\n{kept['size']}\n{base64.b64encode(bytes(32)).decode()}\n"
    code, output = run(signer.sign(rewritten.encode()), current, kept["size"], current["size"])
    assert code == 1  # the log once signed another tree of that size: it was rewritten since
    assert "not consistent with the kept checkpoint" in output
    stranger = parse_signer_key(generate_signer(origin)[0])
    code, output = run(stranger.sign(rewritten.encode()), current, kept["size"], current["size"])
    assert code == 1
    assert "no signature by the log's key" in output
