"""C2SP signed notes and checkpoints: published examples, round trips, and what must be refused."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustdesk.errors import InvalidInput
from trustdesk.records.merkle import EMPTY_ROOT, leaf_hash
from trustdesk.records.note import (
    MAX_NOTE_SIZE,
    Checkpoint,
    NoteError,
    NoteKeyError,
    NoteSigner,
    generate_signer,
    open_checkpoint,
    open_note,
    parse_signer_key,
    parse_verifier_key,
)

# The example key pair and note of golang.org/x/mod/sumdb/note (note.go's package documentation
# and note_test.go, BSD-3-Clause), the reference implementation of c2sp.org/signed-note.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
    "otpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox"
    "33WWd1RvMc+QQ=\n"
)

# A real checkpoint of the Go checksum database (sum.golang.org), as quoted in
# transparency-dev/trillian-tessera internal/parse/checkpoint_test.go (Apache-2.0), and the
# database's verifier key as built into the go command (and quoted by many repositories).
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINT = (
    "go.sum database tree\n31700353\nqINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=\n\n"
    "— sum.golang.org Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/C3YI8oW9/C8"
    "DJ87F61QqspBYwM=\n"
)

ORIGIN = "trustdesk.example/log"


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner(ORIGIN, Ed25519PrivateKey.generate())


def checkpoint(size: int = 8) -> Checkpoint:
    return Checkpoint(ORIGIN, size, leaf_hash(b"root"))


# --- published examples --------------------------------------------------------------------------


def test_the_go_example_note_verifies() -> None:
    opened = open_note(TEXT + "\n" + PETER_SIG, [parse_verifier_key(PETER_VKEY)])
    assert opened.body == TEXT.encode()
    assert [str(s) for s in opened.signers] == ["PeterNeumann+c74f20a3"]


def test_signing_with_the_go_example_key_gives_the_published_note() -> None:
    # Ed25519 is deterministic, so this pins key IDs, encodings and the note layout.
    signer = parse_signer_key(PETER_SKEY)
    assert signer.sign(TEXT.encode()) == TEXT + "\n" + PETER_SIG
    assert signer.verifier.key_string() == PETER_VKEY
    assert signer.private_key_string() == PETER_SKEY


def test_a_real_go_checksum_database_checkpoint() -> None:
    cp = open_checkpoint(SUMDB_CHECKPOINT, [parse_verifier_key(SUMDB_VKEY)])
    assert (cp.origin, cp.size) == ("go.sum database tree", 31700353)
    assert cp.root_hash == base64.b64decode("qINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=")
    assert cp.body() == SUMDB_CHECKPOINT.partition("\n\n")[0].encode() + b"\n"


def test_signatures_by_unknown_keys_are_ignored() -> None:
    peter, enoch = parse_verifier_key(PETER_VKEY), parse_verifier_key(ENOCH_VKEY)
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert [s.name for s in open_note(note, [peter]).signers] == ["PeterNeumann"]
    assert [s.name for s in open_note(note, [enoch]).signers] == ["EnochRoot"]
    assert [s.name for s in open_note(note, [enoch, peter]).signers] == [
        "PeterNeumann",
        "EnochRoot",
    ]
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(note, [])


def test_a_repeated_signature_counts_once() -> None:
    note = TEXT + "\n" + PETER_SIG + PETER_SIG
    assert len(open_note(note, [parse_verifier_key(PETER_VKEY)]).signers) == 1


# --- round trips ---------------------------------------------------------------------------------


def test_checkpoint_round_trip(signer: NoteSigner) -> None:
    cp = Checkpoint(ORIGIN, 12345, EMPTY_ROOT, ("extension one", "ext two"))
    assert cp.body() == (
        b"trustdesk.example/log\n12345\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        b"extension one\next two\n"
    )
    note = signer.sign(cp.body())
    assert note.startswith(cp.body().decode() + "\n\u2014 trustdesk.example/log ")
    assert open_checkpoint(note, [signer.verifier], origin=ORIGIN) == cp
    assert open_checkpoint(note.encode(), [signer.verifier]) == cp
    assert Checkpoint.parse(Checkpoint(ORIGIN, 0, EMPTY_ROOT).body()).size == 0


def test_key_strings_round_trip() -> None:
    skey, vkey = generate_signer("trustdesk.example/log")
    signer, verifier = parse_signer_key(skey), parse_verifier_key(vkey)
    assert signer.private_key_string() == skey
    assert verifier.key_string() == vkey
    assert signer.verifier.key_id == verifier.key_id
    assert skey.startswith("PRIVATE+KEY+trustdesk.example/log+")
    note = signer.sign(checkpoint().body())
    assert open_note(note, [verifier]).signers == (verifier,)
    # PRIVATE+KEY+<name>+<key hash>+<key data>: the key data is base64 and may itself hold '+'.
    secret = skey.split("+", 4)[4]
    assert len(secret) > 40
    assert secret not in repr(signer) and secret not in str(signer)


# --- tampering -----------------------------------------------------------------------------------


def test_tampered_notes_fail(signer: NoteSigner) -> None:
    note = signer.sign(checkpoint(8).body())
    body, signature = note.split("\n\n")
    root_line = body.split("\n")[2]
    other_root = base64.b64encode(leaf_hash(b"other")).decode()
    sig_b64 = signature.split(" ")[-1].strip()
    raw = base64.b64decode(sig_b64)  # key ID, then the Ed25519 signature
    flipped = raw[:4] + bytes([raw[4] ^ 1]) + raw[5:]
    tampered = {
        "size": note.replace("\n8\n", "\n9\n", 1),
        "root": note.replace(root_line, other_root, 1),
        "origin": note.replace("trustdesk.example/log\n", "trustdesk.example/lug\n", 1),
        "extension added": note.replace("\n\n", "\nextra\n\n", 1),
        "signature": note.replace(sig_b64, base64.b64encode(flipped).decode()),
        "truncated signature": note.replace(sig_b64, base64.b64encode(raw[:-1]).decode()),
    }
    for what, text in tampered.items():
        assert text != note, what
        with pytest.raises(NoteError):
            open_note(text, [signer.verifier])


def test_a_known_key_with_a_bad_signature_rejects_the_note(signer: NoteSigner) -> None:
    # c2sp.org/signed-note: a failed signature from a known key SHOULD reject the whole note,
    # even when another known key's signature verifies.
    peter = parse_verifier_key(PETER_VKEY)
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="PeterNeumann\\+c74f20a3 does not verify"):
        open_note(signer.sign(TEXT.encode()) + bad, [signer.verifier, peter])


def test_the_wrong_origin_is_refused(signer: NoteSigner) -> None:
    with pytest.raises(NoteError, match=r"not 'elsewhere\.example/log'"):
        open_checkpoint(
            signer.sign(checkpoint().body()), [signer.verifier], origin="elsewhere.example/log"
        )


# --- malformed notes -----------------------------------------------------------------------------

MALFORMED_NOTES = {
    "empty": "",
    "no signature": TEXT,
    "blank line but no signature": TEXT + "\n",
    "no final newline": TEXT + "\n" + PETER_SIG[:-1],
    "no blank line": TEXT + PETER_SIG,
    "control character": "\x01" + TEXT + "\n" + PETER_SIG,
    "carriage return": TEXT.replace("\n", "\r\n", 1) + "\n" + PETER_SIG,
    "hyphen for em dash": TEXT + "\n" + PETER_SIG.replace("—", "-"),
    "en dash for em dash": TEXT + "\n" + PETER_SIG.replace("—", "\u2013"),
    "no space after the dash": TEXT + "\n" + PETER_SIG.replace("— ", "—"),
    "space in the key name": TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter Neumann"),
    "plus in the key name": TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"),
    "bad base64": TEXT + "\n" + PETER_SIG.replace("x08go", "x08g!"),
    "unpadded base64": TEXT + "\n" + PETER_SIG.replace("AM=\n", "AM\n"),
    "signature too short": TEXT + "\n— PeterNeumann AAAA\n",
    "unexpected line": TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    "too many signatures": TEXT + "\n" + PETER_SIG * 101,
    "oversized": "x" * MAX_NOTE_SIZE + "\n\n" + PETER_SIG,
}


@pytest.mark.parametrize("note", MALFORMED_NOTES.values(), ids=MALFORMED_NOTES.keys())
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [parse_verifier_key(PETER_VKEY)])


@pytest.mark.parametrize(
    "junk",
    [b"", b"\xff" + TEXT.encode(), b"\xc2\xb2\n\n" + PETER_SIG.encode(), b"\xed\xa0\x80\n\n"],
    ids=["empty", "invalid UTF-8", "superscript", "encoded surrogate"],
)
def test_junk_bytes_are_refused(junk: bytes) -> None:
    with pytest.raises(NoteError):
        open_note(junk, [parse_verifier_key(PETER_VKEY)])


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(NoteError, match="not UTF-8"):
        open_note("\ud800" + TEXT + "\n" + PETER_SIG, [parse_verifier_key(PETER_VKEY)])


def test_errors_are_invalid_input() -> None:
    assert issubclass(NoteError, InvalidInput) and NoteError.code == "invalid_note"
    assert issubclass(NoteKeyError, InvalidInput) and NoteKeyError.code == "invalid_note_key"


# --- malformed checkpoints -----------------------------------------------------------------------

GOOD_ROOT = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
MALFORMED_CHECKPOINTS = {
    "empty": b"",
    "two lines": b"o\n1\n",
    "no final newline": f"o\n1\n{GOOD_ROOT}".encode(),
    "empty origin": f"\n1\n{GOOD_ROOT}\n".encode(),
    "empty extension": f"o\n1\n{GOOD_ROOT}\n\n".encode(),
    "leading zero": f"o\n01\n{GOOD_ROOT}\n".encode(),
    "negative size": f"o\n-1\n{GOOD_ROOT}\n".encode(),
    "plus sign": f"o\n+1\n{GOOD_ROOT}\n".encode(),
    "spaced size": f"o\n 1\n{GOOD_ROOT}\n".encode(),
    "underscore": f"o\n1_0\n{GOOD_ROOT}\n".encode(),
    "arabic digit": f"o\n\u0663\n{GOOD_ROOT}\n".encode(),
    "hex size": f"o\n0x10\n{GOOD_ROOT}\n".encode(),
    "size over uint64": f"o\n{1 << 64}\n{GOOD_ROOT}\n".encode(),
    "huge size": f"o\n{'9' * 5000}\n{GOOD_ROOT}\n".encode(),
    "bad base64": b"o\n1\nthisisnotright\n",
    "url-safe base64": f"o\n1\n{GOOD_ROOT.replace('+', '-').replace('/', '_')}\n".encode(),
    "unpadded root": f"o\n1\n{GOOD_ROOT.rstrip('=')}\n".encode(),
    "short root": f"o\n1\n{base64.b64encode(bytes(31)).decode()}\n".encode(),
    "long root": f"o\n1\n{base64.b64encode(bytes(33)).decode()}\n".encode(),
    "tab in origin": f"o\to\n1\n{GOOD_ROOT}\n".encode(),
    "carriage return": f"o\r\n1\n{GOOD_ROOT}\n".encode(),
    "invalid UTF-8": f"o\xff\n1\n{GOOD_ROOT}\n".encode("latin-1"),
    "oversized": f"o\n1\n{GOOD_ROOT}\n".encode() + b"x" * MAX_NOTE_SIZE + b"\n",
}


@pytest.mark.parametrize("body", MALFORMED_CHECKPOINTS.values(), ids=MALFORMED_CHECKPOINTS.keys())
def test_malformed_checkpoints_are_refused(body: bytes) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(body)


@pytest.mark.parametrize(
    ("origin", "size", "root_hash", "extensions"),
    [
        ("", 1, EMPTY_ROOT, ()),
        ("a\nb", 1, EMPTY_ROOT, ()),
        (ORIGIN, -1, EMPTY_ROOT, ()),
        (ORIGIN, 1 << 64, EMPTY_ROOT, ()),
        (ORIGIN, 1, b"short", ()),
        (ORIGIN, 1, EMPTY_ROOT, ("",)),
        (ORIGIN, 1, EMPTY_ROOT, ("two\nlines",)),
    ],
)
def test_checkpoints_are_validated_when_built(
    origin: str, size: int, root_hash: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(NoteError):
        Checkpoint(origin, size, root_hash, extensions)


def test_bodies_that_cannot_be_signed(signer: NoteSigner) -> None:
    for body in [b"", b"no final newline", b"\x01\n", b"\xff\n", b"x" * MAX_NOTE_SIZE + b"\n"]:
        with pytest.raises(NoteError):
            signer.sign(body)


# --- malformed key strings -----------------------------------------------------------------------


def test_every_mangling_of_a_verifier_key_is_refused() -> None:
    # As golang.org/x/mod/sumdb/note TestNewVerifier: every proper substring, every changed byte.
    for start in range(len(PETER_VKEY)):
        for end in range(start + 1, len(PETER_VKEY) + 1):
            if (start, end) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteKeyError):
                    parse_verifier_key(PETER_VKEY[start:end])
    for i in range(len(PETER_VKEY)):
        with pytest.raises(NoteKeyError):
            parse_verifier_key(PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :])


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # long key
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # algorithm 0x65
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper-case ID
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteKeyError):
        parse_verifier_key(vkey)


@pytest.mark.parametrize(
    "skey",
    [
        "",
        PETER_VKEY,
        PETER_SKEY.replace("PRIVATE+KEY", "PRIVATE+KEYS"),
        PETER_SKEY.replace("c74f20a3", "c74f20a4"),
        PETER_SKEY[:-1],
        PETER_SKEY.replace("+AYEK", "+AoEK"),  # algorithm 0x02
    ],
    ids=["empty", "verifier key", "bad prefix", "wrong ID", "truncated", "algorithm"],
)
def test_malformed_signer_keys_are_refused(skey: str) -> None:
    with pytest.raises(NoteKeyError):
        parse_signer_key(skey)


def test_bad_key_names_are_refused() -> None:
    key = Ed25519PrivateKey.generate()
    for name in ["", "a b", "a+b", "a\nb", "a\u00a0b", "a\u2028b", "\ud800"]:
        with pytest.raises(NoteKeyError):
            NoteSigner(name, key)
        with pytest.raises(NoteKeyError):
            generate_signer(name)


def test_two_different_keys_with_one_name_and_id_are_refused() -> None:
    peter = parse_verifier_key(PETER_VKEY)
    other = parse_verifier_key(PETER_VKEY)
    other.public_key = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(NoteKeyError, match="two different verifier keys"):
        open_note(TEXT + "\n" + PETER_SIG, [peter, other])
    assert open_note(TEXT + "\n" + PETER_SIG, [peter, parse_verifier_key(PETER_VKEY)]).signers
