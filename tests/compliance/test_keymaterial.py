"""Key material is refused by shape; facility names pass."""

from __future__ import annotations

import base64

import pytest

from trustdesk.compliance.keymaterial import KeyMaterialRefused, check_text, looks_like_key

KEY_BYTES = bytes(range(1, 33))
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
    "-----END PRIVATE KEY-----\n"
)
# Ways a key could be pasted into a text field.
KEY_MATERIAL: tuple[str, ...] = (
    PEM,
    PEM.replace("\n", " "),
    "-----BEGIN EC PRIVATE KEY-----",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x@y",
    KEY_BYTES.hex(),
    KEY_BYTES[:16].hex().upper(),
    ":".join(f"{b:02x}" for b in KEY_BYTES[:16]),
    base64.b64encode(KEY_BYTES).decode(),
    base64.b64encode(KEY_BYTES[:16]).decode(),
    base64.urlsafe_b64encode(bytes(range(190, 222))).decode().rstrip("="),
    "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF",
    '{"kty":"OKP","crv":"Ed25519","d":"n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"}',
    KEY_BYTES.decode("latin-1"),
    "key: " + KEY_BYTES.decode("latin-1"),
)
FACILITIES: tuple[str, ...] = (
    "SM4-128-GCM",
    "SM2",
    "TLS_SM4_GCM_SM3",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "RSA/ECB/OAEPWithSHA-256AndMGF1Padding",
    "CN=chat.example.cn, O=Example Chat Ltd, C=CN",
    "Alibaba Cloud KMS, region cn-urumqi",
    "X25519MLKEM768",
    "sm2p256v1",
    "PKCS#8",
    "HSM (GM/T 0028 level 2)",
    "urumqi-app-01.demo-chat.internal",
    "1.2.156.10197.1.104",
)
# Names of keys: a key's name says what it is, it is not the key.
KEY_NAMES: tuple[str, ...] = (
    "TLS private key",
    "Private key of the log signer",
    "EC PRIVATE KEY (P-256), chat.example.cn",
    "OpenSSH private key of the deploy user",
    "ssh-ed25519 host key",
    "ecdsa-sha2-nistp256 host key",
    'JWK "d" member, kept in the KMS',
)


@pytest.mark.parametrize("text", KEY_MATERIAL)
def test_key_material_is_refused_without_being_repeated(text: str) -> None:
    with pytest.raises(KeyMaterialRefused) as caught:
        check_text(text, "name", 200)
    assert text.strip() not in caught.value.message
    assert "name" in caught.value.message


@pytest.mark.parametrize("text", FACILITIES)
def test_facility_names_pass(text: str) -> None:
    assert not looks_like_key(text)
    assert check_text(f"  {text} ", "name", 200) == text


@pytest.mark.parametrize("text", KEY_NAMES)
def test_the_name_of_a_key_is_not_a_key(text: str) -> None:
    assert not looks_like_key(text)
    assert check_text(text, "name", 200) == text


@pytest.mark.parametrize("name", KEY_NAMES)
def test_a_key_named_as_such_is_still_refused(name: str) -> None:
    with pytest.raises(KeyMaterialRefused):
        check_text(f"{name}: {PEM}", "name", 500)
