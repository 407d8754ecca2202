#!/usr/bin/env python3
"""Check trustdesk record-log proofs with nothing but the Python standard library.

Inclusion: is an entry in the log the checkpoint signs?

    curl -s "$TD/v1/log/checkpoint" > checkpoint.json
    curl -s "$TD/v1/log/proof/inclusion?index=$I&size=$(jq .size checkpoint.json)" > proof.json
    python3 verify_log_proof.py [--key VERIFIER_KEY] checkpoint.json proof.json LEAF_BASE64

Consistency: is today's log the log of a checkpoint you kept, only grown?

    curl -s "$TD/v1/log/checkpoint" > checkpoint.json
    M=$(jq .size kept.json); N=$(jq .size checkpoint.json)
    curl -s "$TD/v1/log/proof/consistency?first=$M&second=$N" > consistency.json
    python3 verify_log_proof.py --key VERIFIER_KEY --checkpoint kept.json \\
        checkpoint.json consistency.json

LEAF_BASE64 is the entry's leaf bytes (``leaf`` in /v1/log/entries, or what you were given
with a statement or an authority report). VERIFIER_KEY is the log's public key from
/v1/log/key (``name+hash+base64``), pinned once out of band; with it, every checkpoint's
Ed25519 signature is checked (RFC 8032, written out below) and sizes and roots are read from
the signed notes. A checkpoint file is the JSON of /v1/log/checkpoint or the signed note
itself. The proofs follow RFC 9162 sections 2.1.3.2 and 2.1.4.2. A kept checkpoint larger
than today's log means entries were cut; a consistency proof that fails means entries the
kept checkpoint covered were changed. Exit 0 when everything holds, 1 when not, 2 on usage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sys
from pathlib import Path

# --- RFC 9162 hashing and proofs -------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(
    index: int, size: int, leaf_digest: bytes, proof: list[bytes]
) -> bytes:
    """RFC 9162 section 2.1.3.2, step by step."""
    if index >= size:
        raise ValueError("index is not below the tree size")
    fn, sn, r = index, size - 1, leaf_digest
    for p in proof:
        if sn == 0:
            raise ValueError("the proof is longer than the tree allows")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the proof is shorter than the tree needs")
    return r


def _chain(fn: int, sn: int, seed: bytes, path: list[bytes]) -> tuple[bytes, bytes]:
    """The loop of RFC 9162 section 2.1.4.2: the two roots that ``path`` leads to."""
    fr = sr = seed
    for c in path:
        if sn == 0:
            raise ValueError("the proof is longer than the trees allow")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("the proof is shorter than the trees need")
    return fr, sr


def verify_consistency(
    first: int, second: int, proof: list[bytes], first_root: bytes, second_root: bytes
) -> None:
    """RFC 9162 section 2.1.4.2, step by step; raises ValueError when the proof fails."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first == second:
        if proof or first_root != second_root:
            raise ValueError("trees of equal size must have equal roots and an empty proof")
        return
    if not proof:
        raise ValueError("trees of different sizes need a non-empty proof")
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr, sr = _chain(fn, sn, proof[0], proof[1:])
    if fr != first_root:
        raise ValueError("the proof does not lead to the kept checkpoint's root")
    if sr != second_root:
        raise ValueError("the proof does not lead to the current checkpoint's root")


# --- Ed25519 verification (RFC 8032 section 5.1.7), for signed notes ----------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
Point = tuple[int, int, int, int]  # extended homogeneous coordinates


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if (x & 1) != sign else x


def _add(a: Point, b: Point) -> Point:
    p, q = a, b
    aa = (p[1] - p[0]) * (q[1] - q[0]) % _P
    bb = (p[1] + p[0]) * (q[1] + q[0]) % _P
    cc = 2 * p[3] * q[3] * _D % _P
    dd = 2 * p[2] * q[2] % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _multiply(scalar: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point, scalar = _add(point, point), scalar >> 1
    return result


def _decompress(data: bytes) -> Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def _equal(a: Point, b: Point) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % _P == 0 and (a[1] * b[2] - b[1] * a[2]) % _P == 0


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0) or 0
_BASE: Point = (_GX, _GY, 1, _GX * _GY % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    a = _decompress(public_key)
    r = _decompress(signature[:32]) if len(signature) == 64 else None
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little")
    return _equal(_multiply(s, _BASE), _add(r, _multiply(h % _L, a)))


# --- C2SP signed notes and checkpoints ----------------------------------------------------


class Checkpoint:
    def __init__(self, size: int, root_hash: bytes) -> None:
        self.size, self.root_hash = size, root_hash


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def parse_key(key: str) -> tuple[str, bytes, bytes]:
    """Name, 4-byte key ID and Ed25519 public key of ``name+hexid+base64(0x01 || key)``."""
    name, hex_id, encoded = key.strip().split("+", 2)
    raw = _b64(encoded)
    if len(raw) != 33 or raw[0] != 1:
        raise ValueError("not an Ed25519 verifier key")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != hex_id:
        raise ValueError("the verifier key does not match its key ID")
    return name, key_id, raw[1:]


def open_note(note: str, key: tuple[str, bytes, bytes]) -> Checkpoint:
    """The checkpoint in a signed note, after checking the key's signature on it."""
    name, key_id, public_key = key
    split = note.rfind("\n\n")
    if split < 0:
        raise ValueError("not a signed note (no blank line before the signatures)")
    body = note[: split + 1]
    for line in note[split + 2 :].splitlines():
        signer, _, encoded = line.removeprefix("\u2014 ").partition(" ")
        raw = _b64(encoded)
        if signer == name and raw[:4] == key_id:
            if not ed25519_verify(public_key, body.encode(), raw[4:]):
                raise ValueError("the log key's signature on the checkpoint does not verify")
            lines = body.split("\n")
            return Checkpoint(int(lines[1]), _b64(lines[2]))
    raise ValueError("the checkpoint carries no signature by the log's key")


def read_checkpoint(path: str, key: tuple[str, bytes, bytes] | None) -> Checkpoint:
    """A checkpoint file: the JSON of /v1/log/checkpoint, or the signed note itself."""
    text = Path(path).read_text(encoding="utf-8")
    document = json.loads(text) if text.lstrip().startswith("{") else {"checkpoint": text}
    if key is not None:
        return open_note(document["checkpoint"], key)
    if "size" in document:
        return Checkpoint(int(document["size"]), _b64(document["root_hash"]))
    lines = document["checkpoint"].split("\n")
    return Checkpoint(int(lines[1]), _b64(lines[2]))


# --- the two checks -----------------------------------------------------------------------


def check_inclusion(checkpoint: Checkpoint, proof: dict[str, object], leaf: bytes) -> str:
    if proof["size"] != checkpoint.size:
        raise ValueError("the proof is for another tree size than the checkpoint")
    hashes = [_b64(str(p)) for p in proof["proof"]]  # type: ignore[attr-defined]
    index = int(proof["index"])  # type: ignore[call-overload]
    if root_from_inclusion_proof(index, checkpoint.size, leaf_hash(leaf), hashes) != (
        checkpoint.root_hash
    ):
        raise ValueError("invalid proof: the computed root is not the checkpoint's root")
    return f"ok: entry {index} is in the log of {checkpoint.size} entries"


def check_consistency(kept: Checkpoint, current: Checkpoint, proof: dict[str, object]) -> str:
    if kept.size > current.size:
        raise ValueError(
            f"the kept checkpoint covers {kept.size} entries but the log now holds "
            f"{current.size}: entries were cut"
        )
    if kept.size == 0:
        return f"ok: the log of {current.size} entries grew from the empty log"
    if (proof["first"], proof["second"]) != (kept.size, current.size):
        raise ValueError(
            f"the proof is for sizes {proof['first']} to {proof['second']}, "
            f"not {kept.size} to {current.size}"
        )
    hashes = [_b64(str(p)) for p in proof["proof"]]  # type: ignore[attr-defined]
    try:
        verify_consistency(kept.size, current.size, hashes, kept.root_hash, current.root_hash)
    except ValueError as exc:
        msg = f"the log is not consistent with the kept checkpoint ({exc}): entries were changed"
        raise ValueError(msg) from exc
    return f"ok: the log of {current.size} entries extends the kept log of {kept.size}"


def _option(argv: list[str], name: str) -> str | None:
    if name not in argv:
        return None
    at = argv.index(name)
    if at + 1 >= len(argv):
        raise IndexError(name)
    value = argv[at + 1]
    del argv[at : at + 2]
    return value


def main(argv: list[str]) -> int:
    argv = list(argv)
    try:
        key_text, kept_path = _option(argv, "--key"), _option(argv, "--checkpoint")
    except IndexError:
        print(__doc__, file=sys.stderr)
        return 2
    if len(argv) != (2 if kept_path else 3) or (kept_path and not key_text):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        key = parse_key(key_text) if key_text else None
        current = read_checkpoint(argv[0], key)
        proof = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        if kept_path:
            message = check_consistency(read_checkpoint(kept_path, key), current, proof)
        else:
            message = check_inclusion(current, proof, _b64(argv[2]))
    except (OSError, KeyError, IndexError, TypeError, ValueError, binascii.Error) as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
