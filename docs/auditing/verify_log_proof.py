#!/usr/bin/env python3
"""Check a trustdesk record-log inclusion proof with nothing but the Python standard library.

    curl -s "$TD/v1/log/checkpoint" > checkpoint.json
    curl -s "$TD/v1/log/proof/inclusion?index=$I&size=$(jq .size checkpoint.json)" > proof.json
    python3 verify_log_proof.py checkpoint.json proof.json LEAF_BASE64

LEAF_BASE64 is the entry's leaf bytes (``leaf`` in /v1/log/entries, or what you were given
with a statement or an authority report). The script recomputes the leaf hash, walks the
RFC 9162 section 2.1.3.2 algorithm to a root, and compares it with the root in the
checkpoint. Checking the checkpoint's Ed25519 signature needs a signed-note verifier (Go's
golang.org/x/mod/sumdb/note, or any C2SP signed-note implementation) and the key from
/v1/log/key; see docs/auditing.md. Exit 0 when the proof holds, 1 when it does not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path


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


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    checkpoint = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    proof = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    leaf = base64.b64decode(argv[2], validate=True)
    if proof["size"] != checkpoint["size"]:
        print("the proof is for another tree size than the checkpoint", file=sys.stderr)
        return 1
    try:
        root = root_from_inclusion_proof(
            proof["index"],
            proof["size"],
            leaf_hash(leaf),
            [base64.b64decode(p, validate=True) for p in proof["proof"]],
        )
    except ValueError as exc:
        print(f"invalid proof: {exc}", file=sys.stderr)
        return 1
    if root != base64.b64decode(checkpoint["root_hash"], validate=True):
        print("invalid proof: the computed root is not the checkpoint's root", file=sys.stderr)
        return 1
    print(f"ok: entry {proof['index']} is in the log of {proof['size']} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
