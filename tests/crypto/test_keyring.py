"""The local key ring file: creation, permissions, rotation, corrupt files, the warning."""

from __future__ import annotations

import base64
import json
import logging
import stat
from pathlib import Path

import pytest

from trustdesk.crypto.envelope import open_sealed, seal
from trustdesk.crypto.keyring import KeyRing, KeyRingError, LocalKeyRing, UnknownKey
from trustdesk.errors import ConfigurationError

SECRET = b"the content nobody may read: user 12345 said something"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_use_creates_a_private_file_with_one_key(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys" / "keyring.json"
    keyring = LocalKeyRing.open(path, development=True)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert len(keyring.ids()) == 1
    assert keyring.current_id() == keyring.ids()[0]
    document = json.loads(path.read_text())
    assert document["current"] == keyring.current_id()
    assert len(base64.b64decode(document["keys"][0]["key"])) == 32
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []
    assert isinstance(keyring, KeyRing)  # structural: LocalKeyRing meets the contract


def test_open_keeps_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    first = LocalKeyRing.open(path, development=True)
    before = path.read_bytes()
    second = LocalKeyRing.open(path, development=True)
    assert second.ids() == first.ids()
    assert path.read_bytes() == before


def test_rotate_adds_a_current_key_and_keeps_the_file_private(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = LocalKeyRing.open(path, development=True)
    first = keyring.current_id()
    second = keyring.rotate()
    third = keyring.rotate()
    assert keyring.ids() == (first, second, third)
    assert keyring.current_id() == third
    assert mode(path) == 0o600
    assert LocalKeyRing.open(path, development=True).current_id() == third


def test_a_rotation_by_another_process_is_picked_up_on_unwrap(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    stale = LocalKeyRing.open(path, development=True)
    other = LocalKeyRing.open(path, development=True)
    other.rotate()
    sealed = seal(SECRET, other, aad=b"a")
    assert open_sealed(sealed, stale, aad=b"a") == SECRET
    assert stale.current_id() == other.current_id()


def test_the_file_never_holds_plaintext_or_data_keys(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = LocalKeyRing.open(path, development=True)
    sealed = seal(SECRET, keyring, aad=b"a")
    keyring.rotate()
    content = path.read_bytes()
    assert SECRET not in content
    assert base64.b64encode(SECRET) not in content
    assert base64.b64encode(sealed.wrapped_key) not in content
    for entry in json.loads(content)["keys"]:
        assert entry["key"] not in repr(keyring)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"\xff\xfe junk \x00", "not JSON"),
        (b'{"format": "trustdesk-keyring/1", "current": "k', "not JSON"),
        (b"[1, 2, 3]", "not a key ring"),
        (b'{"format": "something-else/1"}', "not a key ring"),
        (b'{"format": "trustdesk-keyring/1", "current": "a", "keys": []}', "no keys"),
        (b'{"format": "trustdesk-keyring/1", "current": "a", "keys": [{"id": "a"}]}', "32 bytes"),
        (b'{"format": "trustdesk-keyring/1", "current": "a", "keys": [7]}', "no valid id"),
    ],
)
def test_corrupt_files_are_refused_naming_the_file(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "keyring.json"
    path.write_bytes(content)
    with pytest.raises(KeyRingError) as caught:
        LocalKeyRing.open(path, development=True)
    assert str(path) in caught.value.message
    assert reason in caught.value.message
    assert caught.value.code == "keyring_error"
    assert isinstance(caught.value, ConfigurationError)


def test_bad_keys_are_refused_without_quoting_them(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    current = LocalKeyRing.open(path, development=True).current_id()
    document = json.loads(path.read_text())
    good = document["keys"][0]["key"]
    for bad, reason in ((good[:20], "32 bytes"), (good[:-4] + "!!!!", "not base64")):
        document["keys"][0]["key"] = bad
        path.write_text(json.dumps(document))
        with pytest.raises(KeyRingError) as caught:
            LocalKeyRing.open(path, development=True)
        assert reason in caught.value.message
        assert good[:8] not in caught.value.message
    document["keys"][0]["key"] = good
    document["current"] = "kek-missing"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyRingError, match="current key"):
        LocalKeyRing.open(path, development=True)
    document["current"] = current
    document["keys"].append(document["keys"][0])
    path.write_text(json.dumps(document))
    with pytest.raises(KeyRingError, match="twice"):
        LocalKeyRing.open(path, development=True)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    LocalKeyRing.open(path, development=True)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(KeyRingError, match=str(path)):
        LocalKeyRing.open(path, development=True)


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.mkdir()  # a directory where the file should be
    with pytest.raises(KeyRingError, match="cannot read"):
        LocalKeyRing.open(path, development=True)


def test_unknown_key_on_unwrap(tmp_path: Path) -> None:
    keyring = LocalKeyRing.open(tmp_path / "keyring.json", development=True)
    with pytest.raises(UnknownKey):
        keyring.unwrap("kek-0000", b"\x00" * 40)


def test_a_loose_file_mode_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keyring.json"
    LocalKeyRing.open(path, development=True)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="trustdesk.crypto"):
        LocalKeyRing.open(path, development=True)
    assert "chmod 600" in caplog.text


def test_outside_development_a_local_key_file_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "keyring.json"
    with caplog.at_level(logging.WARNING, logger="trustdesk.crypto"):
        LocalKeyRing.open(path, development=True)
    assert caplog.records == []
    with caplog.at_level(logging.WARNING, logger="trustdesk.crypto"):
        LocalKeyRing.open(path, development=False)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.name == "trustdesk.crypto"
    said = record.getMessage()
    # what the operator can do here and now, not a key ring trustdesk does not ship (KMS)
    assert "readable by this service's user only" in said and "--keys-to" in said
    assert "KMS" not in said


def test_a_rotation_by_another_process_takes_effect_on_the_next_wrap(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    server = LocalKeyRing.open(path, development=True)
    old = server.current_id()
    new = LocalKeyRing.open(path, development=True).rotate()  # `trustdesk vault rotate`
    sealed = seal(SECRET, server, aad=b"a")
    assert sealed.kek_id == new != old


def test_retire_removes_an_old_key_for_every_process(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    server = LocalKeyRing.open(path, development=True)
    old_sealed = seal(SECRET, server, aad=b"a")
    operator = LocalKeyRing.open(path, development=True)
    operator.rotate()
    operator.retire(old_sealed.kek_id)
    assert old_sealed.kek_id not in operator.ids()
    assert old_sealed.kek_id not in [k["id"] for k in json.loads(path.read_text())["keys"]]
    with pytest.raises(UnknownKey):
        open_sealed(old_sealed, server, aad=b"a")
    assert server.ids() == operator.ids()


def test_retire_refuses_the_current_or_an_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = LocalKeyRing.open(path, development=True)
    with pytest.raises(KeyRingError, match="current key"):
        keyring.retire(keyring.current_id())
    with pytest.raises(KeyRingError, match="holds no key"):
        keyring.retire("kek-nonexistent")
    assert len(keyring.ids()) == 1
