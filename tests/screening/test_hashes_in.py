"""``POST /v1/screen`` with precomputed hashes only: an image's PDQ and a file's SHA-256
matched against the banks the service meets (findings with the signal, bank, entry and
distance, no span), stored like a text (kind recorded, text empty); malformed hashes are
refused with a stable code, alone in a batch."""

from __future__ import annotations

import hashlib
import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bank_support import SUBJECT, bank, verified
from trustdesk.banks.values import BankAction, Signal
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import service

from support import ServiceFactory, assert_problem, bearer

PDQ = "f0" * 32
NEAR = "0f" + "f0" * 31  # 8 bits away
SHA = hashlib.sha256(b"known file").hexdigest()


def _hashed(kind: str, hashes: object, content_id: str = "h") -> dict[str, object]:
    return {"content": {"id": content_id, "kind": kind, "hashes": hashes}, "subject": SUBJECT}


def test_hashes_only_screens_block_and_hold_by_bank(
    app: FastAPI, database: Database, make_service: ServiceFactory, packs: PackRegistry
) -> None:
    owner = make_service()
    pdq = bank(database, packs, owner.service.id, "pictures", [PDQ], signal=Signal.IMAGE_PDQ)
    files = bank(
        database,
        packs,
        owner.service.id,
        "files",
        [SHA],
        signal=Signal.FILE_SHA256,
        action=BankAction.HOLD,
    )
    with TestClient(app) as client:
        verified(client, owner.api_key)
        key = bearer(owner.api_key)
        image = client.post("/v1/screen", headers=key, json=_hashed("image", {"image.pdq": NEAR}))
        assert image.status_code == 200, image.text
        body = image.json()
        assert body["verdict"] == "block" and body["item_id"] is not None
        [finding] = body["findings"]
        assert (finding["signal"], finding["rule"], finding["bank_id"]) == (
            "image.pdq",
            "bank:pictures",
            str(pdq),
        )
        assert (finding["distance"], finding["start"], finding["end"]) == (8, 0, 0)
        file = client.post(
            "/v1/screen", headers=key, json=_hashed("file", {"file.sha256": SHA.upper()}, "f")
        ).json()
        assert file["verdict"] == "hold"
        assert [(f["signal"], f["bank_id"]) for f in file["findings"]] == [
            ("file.sha256", str(files))
        ]
        other = client.post(
            "/v1/screen", headers=key, json=_hashed("image", {"image.pdq": "0" * 64}, "o")
        ).json()
        assert (other["verdict"], other["findings"], other["item_id"]) == ("allow", [], None)
        with database.session() as session:
            [stored] = service.stored_items(session, [uuid.UUID(str(body["item_id"]))])
        assert (stored.text, [f.signal for f in stored.findings]) == ("", ["image.pdq"])


def test_malformed_hashes_are_refused_with_a_stable_code(
    app: FastAPI, make_service: ServiceFactory
) -> None:
    owner = make_service()
    with TestClient(app) as client:
        key = bearer(owner.api_key)
        for body, code in [
            (_hashed("image", {"image.pdq": "xyz"}), "invalid_pdq_hash"),
            (_hashed("file", {"file.md5": "0" * 31}), "invalid_hash"),
            (_hashed("image", {"image.dhash": PDQ}), "unknown_signal"),
            (_hashed("file", {"image.pdq": PDQ}), "kind_not_read"),
            (_hashed("image", {}), "invalid_request"),
            ({"content": {"id": "t", "kind": "image", "text": "x"}}, "invalid_request"),
            (
                {"content": {"id": "t", "text": "x", "hashes": {"file.md5": "0" * 32}}},
                "invalid_request",
            ),
            (_hashed("image", {"image.pdq": "f" * 70_001}), "invalid_request"),
        ]:
            answer = client.post("/v1/screen", headers=key, json=body)
            assert_problem(answer, 422, code)
        items = [
            _hashed("image", {"image.pdq": "xyz"}, "a"),
            _hashed("file", {"file.md5": "0" * 32}, "b"),
        ]
        batch = client.post("/v1/screen/batch", headers=key, json={"items": items})
        assert batch.status_code == 200, batch.text
        first, second = batch.json()["results"]
        assert (first["code"], first["field"]) == ("invalid_pdq_hash", "content.hashes.image.pdq")
        assert "verdict" in second  # the other item is screened (a bad one fails alone)
