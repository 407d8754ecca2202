"""The cryptography inventory (art. 3): no key material in, a valid CycloneDX 1.6 CBOM out."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from fastapi.testclient import TestClient
from test_keymaterial import KEY_MATERIAL, KEY_NAMES

from trustdesk.compliance import crypto
from trustdesk.compliance.service import NewService
from trustdesk.db.engine import Database
from trustdesk.records import service as records

from support import ServiceFactory, assert_problem

SM4 = {
    "asset_type": "algorithm",
    "name": "SM4",
    "primitive": "block-cipher",
    "mode": "gcm",
    "parameter_set": "128",
    "functions": ["encrypt", "decrypt"],
    "security_level": 128,
}
SM2 = {"asset_type": "algorithm", "name": "SM2", "primitive": "signature", "curve": "sm2p256v1"}
SM3 = {"asset_type": "algorithm", "name": "SM3", "primitive": "hash", "functions": ["digest"]}
TLS = {
    "asset_type": "protocol",
    "name": "TLS 1.3 (GM)",
    "protocol": "tls",
    "version": "1.3",
    "cipher_suites": ["TLS_SM4_GCM_SM3"],
}
CERT = {
    "asset_type": "certificate",
    "name": "chat.example.cn",
    "subject_name": "CN=chat.example.cn, O=Example Chat Ltd, C=CN",
    "issuer_name": "CN=Example CA SM2",
    "not_valid_before": "2026-01-01T00:00:00Z",
    "not_valid_after": "2027-01-01T00:00:00Z",
    "certificate_format": "X.509",
}
KEY = {
    "asset_type": "key",
    "name": "content-encryption key",
    "key_type": "secret-key",
    "key_size": 128,
    "key_state": "active",
    "key_format": "raw",
    "secured_by": "HSM (GM/T 0028 level 2)",
    "created_on": "2026-01-01",
    "expires_on": "2027-01-01",
}
FREE_TEXT = {
    "algorithm": ("name", "parameter_set", "curve"),
    "protocol": ("name", "version", "cipher_suites"),
    "certificate": ("name", "subject_name", "issuer_name", "certificate_format"),
    "key": ("name", "key_format", "secured_by"),
}
BASES = {"algorithm": SM4, "protocol": TLS, "certificate": CERT, "key": KEY}


def url(service: NewService, rest: str = "") -> str:
    return f"/v1/compliance/services/{service.service.id}/crypto{rest}"


def post(client: TestClient, service: NewService, headers: dict[str, str], body: Any) -> Any:
    payload = json.dumps(body)  # ASCII, so lone surrogates and raw bytes travel escaped
    headers = {**headers, "Content-Type": "application/json"}
    return client.post(url(service), content=payload, headers=headers)


def fill(client: TestClient, service: NewService, headers: dict[str, str]) -> dict[str, Any]:
    """The demo-like inventory: SM2/SM3/SM4, TLS, a certificate, a key; returns them by name."""
    server = client.post(
        f"/v1/compliance/services/{service.service.id}/servers",
        json={
            "name": "urumqi-app-1",
            "kind": "server",
            "role": "web",
            "provider": "Xinjiang Cloud",
            "location": "CN-XJ",
            "gbt2260": "650102",
            "populations": ["CN-XJ"],
        },
        headers=headers,
    ).json()["server"]
    made: dict[str, Any] = {}
    for body in (SM4, SM2, SM3, TLS):
        made[body["name"]] = post(client, service, headers, {**body, "servers": [server["id"]]})
    made[CERT["name"]] = post(
        client, service, headers, {**CERT, "algorithm_id": made["SM2"].json()["id"]}
    )
    made[KEY["name"]] = post(
        client, service, headers, {**KEY, "algorithm_id": made["SM4"].json()["id"]}
    )
    for response in made.values():
        assert response.status_code == 201, response.text
    return {name: r.json() for name, r in made.items()}


def test_the_inventory_records_facilities_and_fills_sm_oids(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    made = fill(client, chat, officer)
    assert made["SM4"]["oid"] == "1.2.156.10197.1.104"
    assert made["SM2"]["oid"] == "1.2.156.10197.1.301"
    assert made["SM3"]["oid"] == "1.2.156.10197.1.401"
    assert made["SM4"]["where"] == ["urumqi-app-1 (CN-XJ, GB/T 2260 650102)"]
    assert made["content-encryption key"]["key_size"] == 128
    listed = client.get(url(chat), headers=officer).json()
    assert sorted(a["name"] for a in listed) == sorted(made)


def test_the_cbom_passes_strict_cyclonedx_1_6_validation(
    client: TestClient, chat: NewService, officer: dict[str, str], database: Database
) -> None:
    made = fill(client, chat, officer)
    response = client.get(f"/v1/compliance/services/{chat.service.id}/cbom", headers=officer)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.cyclonedx+json")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(response.text) is None
    bom = json.loads(response.text)
    assert bom["specVersion"] == "1.6"
    assert bom["metadata"]["component"]["name"] == "Chat"
    by_name = {c["name"]: c for c in bom["components"]}
    sm4 = by_name["SM4"]["cryptoProperties"]
    assert sm4["assetType"] == "algorithm"
    assert sm4["oid"] == "1.2.156.10197.1.104"
    assert sm4["algorithmProperties"]["primitive"] == "block-cipher"
    assert by_name["SM2"]["cryptoProperties"]["oid"] == "1.2.156.10197.1.301"
    assert by_name["SM3"]["cryptoProperties"]["oid"] == "1.2.156.10197.1.401"
    key = by_name["content-encryption key"]["cryptoProperties"]
    assert key["assetType"] == "related-crypto-material"
    assert "value" not in key["relatedCryptoMaterialProperties"]
    assert (
        key["relatedCryptoMaterialProperties"]["algorithmRef"]
        == f"crypto/algorithm/{made['SM4']['id']}"
    )
    cert = by_name["chat.example.cn"]["cryptoProperties"]["certificateProperties"]
    assert cert["signatureAlgorithmRef"] == f"crypto/algorithm/{made['SM2']['id']}"
    suites = by_name["TLS 1.3 (GM)"]["cryptoProperties"]["protocolProperties"]["cipherSuites"]
    assert suites == [{"name": "TLS_SM4_GCM_SM3"}]
    assert {"name": "trustdesk:server", "value": "urumqi-app-1 (CN-XJ, GB/T 2260 650102)"} in (
        by_name["SM4"]["properties"]
    )
    [root] = [d for d in bom["dependencies"] if d["ref"] == f"service/{chat.service.id}"]
    assert len(root["dependsOn"]) == 6
    log_index = int(response.headers["x-log-index"])
    with database.session() as session:
        leaf = json.loads(records.entry(session, log_index).leaf)
    assert leaf["type"] == "compliance:cbom:exported"
    assert response.headers["digest"] == f"sha-256={leaf['data']['digest']}"


def test_an_empty_inventory_still_makes_a_valid_cbom(database: Database, chat: NewService) -> None:
    with database.session() as session:
        exported = crypto.export_cbom(session, chat.service.id)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(exported.document) is None


@pytest.mark.parametrize(
    ("asset_type", "field"), [(t, f) for t, fields in FREE_TEXT.items() for f in fields]
)
def test_key_material_is_refused_in_every_free_text_field(
    client: TestClient,
    chat: NewService,
    officer: dict[str, str],
    asset_type: str,
    field: str,
) -> None:
    for secret in KEY_MATERIAL:
        value: Any = [secret] if field == "cipher_suites" else secret
        response = post(client, chat, officer, {**BASES[asset_type], field: value})
        assert response.status_code == 422, (secret, response.text)
        assert response.json()["code"] == "key_material_refused", secret
        assert response.json()["field"] == field, secret
        assert secret.strip() not in response.text
    assert client.get(url(chat), headers=officer).json() == []


def test_a_key_named_tls_private_key_is_registered(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    for name in KEY_NAMES:
        response = post(client, chat, officer, {**KEY, "name": name, "key_type": "private-key"})
        assert response.status_code == 201, (name, response.text)
    names = [entry["name"] for entry in client.get(url(chat), headers=officer).json()]
    assert sorted(names) == sorted(KEY_NAMES)


@pytest.mark.parametrize(
    "field", ["value", "key", "private_key", "key_material", "pem", "secret", "material"]
)
def test_there_is_no_field_for_key_material(
    client: TestClient, chat: NewService, officer: dict[str, str], field: str
) -> None:
    response = post(client, chat, officer, {**KEY, field: "AAECAwQFBgcICQoLDA0ODw=="})
    body = assert_problem(response, 422, "invalid_request")
    assert "AAECAwQFBgcICQoLDA0ODw" not in json.dumps(body)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**SM4, "key_size": 128}, "invalid_register_entry"),  # not an algorithm's field
        ({**TLS, "primitive": "hash"}, "invalid_register_entry"),
        ({"asset_type": "algorithm", "name": "X"}, "invalid_register_entry"),  # no primitive
        ({**SM4, "oid": "not.an.oid"}, "invalid_register_entry"),
        ({**SM4, "oid": "1.2." + "3." * 60 + "4"}, "invalid_request"),
        ({**SM4, "primitive": "rot13"}, "invalid_request"),
        ({**SM4, "security_level": -1}, "invalid_register_entry"),
        ({**SM4, "security_level": "128"}, "invalid_request"),
        ({**SM4, "functions": ["encrypt", "encrypt"]}, "invalid_register_entry"),
        ({**KEY, "key_size": 0}, "invalid_register_entry"),
        ({**KEY, "key_size": 10**9}, "invalid_register_entry"),
        ({**KEY, "expires_on": "2025-01-01"}, "invalid_register_entry"),
        ({**CERT, "not_valid_after": "2025-01-01T00:00:00Z"}, "invalid_register_entry"),
        ({**CERT, "not_valid_before": "2026-01-01T00:00:00"}, "invalid_request"),  # no zone
        ({**SM4, "servers": [str(uuid.uuid4())]}, "invalid_register_entry"),
        ({**KEY, "algorithm_id": str(uuid.uuid4())}, "invalid_register_entry"),
        ({**SM4, "name": ""}, "invalid_register_entry"),
        ({**SM4, "name": "\ud800"}, "invalid_request"),
        ({**SM4, "name": "\u202eSM4"}, "key_material_refused"),
        ({**SM4, "name": "x" * 600}, "invalid_request"),
        ({**TLS, "cipher_suites": ["x"] * 51}, "invalid_request"),
        ({**TLS, "cipher_suites": ["A", "A"]}, "invalid_register_entry"),
    ],
)
def test_bad_entries_are_refused(
    client: TestClient, chat: NewService, officer: dict[str, str], body: Any, code: str
) -> None:
    assert_problem(post(client, chat, officer, body), 422, code)
    assert client.get(url(chat), headers=officer).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SM4, "key_size": 128}, "key_size"),
        ({"asset_type": "algorithm", "name": "X"}, "primitive"),
        ({**SM4, "oid": "not.an.oid"}, "oid"),
        ({**SM4, "security_level": -1}, "security_level"),
        ({**SM4, "functions": ["encrypt", "encrypt"]}, "functions"),
        ({**KEY, "expires_on": "2025-01-01"}, "expires_on"),
        ({**CERT, "not_valid_after": "2025-01-01T00:00:00Z"}, "not_valid_after"),
        ({**SM4, "servers": [str(uuid.uuid4())]}, "servers"),
        ({**KEY, "algorithm_id": str(uuid.uuid4())}, "algorithm_id"),
        ({**SM4, "name": ""}, "name"),
        ({**TLS, "cipher_suites": ["A", "A"]}, "cipher_suites"),
    ],
)
def test_a_refused_entry_names_its_field(
    client: TestClient, chat: NewService, officer: dict[str, str], body: Any, field: str
) -> None:
    problem = assert_problem(post(client, chat, officer, body), 422, "invalid_register_entry")
    assert problem["field"] == field


def test_names_are_unique_per_type_and_entries_can_be_removed(
    client: TestClient, chat: NewService, officer: dict[str, str]
) -> None:
    first = post(client, chat, officer, SM4).json()
    clash = post(client, chat, officer, SM4)
    assert assert_problem(clash, 409, "crypto_asset_exists")["field"] == "name"
    assert client.delete(url(chat, f"/{first['id']}"), headers=officer).status_code == 204
    assert client.get(url(chat), headers=officer).json() == []
    assert_problem(
        client.delete(url(chat, f"/{first['id']}"), headers=officer), 404, "crypto_asset_not_found"
    )


def test_another_services_assets_are_out_of_reach(
    client: TestClient, make_service: ServiceFactory, officer: dict[str, str]
) -> None:
    mine, theirs = make_service("Mine"), make_service("Theirs")
    algorithm = post(client, theirs, officer, SM4).json()
    assert_problem(
        client.delete(url(mine, f"/{algorithm['id']}"), headers=officer),
        404,
        "crypto_asset_not_found",
    )
    key = post(client, mine, officer, {**KEY, "algorithm_id": algorithm["id"]})
    assert_problem(key, 422, "invalid_register_entry")


def test_the_inventory_needs_the_register_permissions(
    client: TestClient, chat: NewService, moderator: dict[str, str], auditor: dict[str, str]
) -> None:
    assert_problem(client.get(url(chat), headers=moderator), 403, "permission_denied")
    cbom = f"/v1/compliance/services/{chat.service.id}/cbom"
    assert_problem(client.get(cbom, headers=moderator), 403, "permission_denied")
    assert client.get(cbom, headers=auditor).status_code == 200
    assert_problem(post(client, chat, auditor, SM4), 403, "permission_denied")
