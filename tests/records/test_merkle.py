"""RFC 9162 Merkle trees: the transparency-dev test vectors, known answers, and properties.

The storage-friendly proofs (perfect subtrees read through a ``SubtreeStore``) are held to the
RFC's recursive reference definitions on random trees.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.errors import InvalidInput
from trustdesk.records import merkle
from trustdesk.records.merkle import (
    EMPTY_ROOT,
    MerkleAppender,
    ProofError,
    SubtreeNode,
    consistency_proof,
    consistency_proof_from_leaves,
    inclusion_proof,
    inclusion_proof_from_leaves,
    leaf_hash,
    node_hash,
    root_from_leaves,
    subtree_addresses_for_range,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[1] / "data" / "rfc9162"  # origin: tests/data/README.md

# The 8-leaf tree of the CT test suites, and its roots for sizes 1..8: transparency-dev/merkle
# proof/verify_test.go (Apache-2.0), the same data as google/certificate-transparency's
# merkle_test.py. The happy-path JSON vectors are proofs in this tree.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        *("", "00", "10", "2021", "3031", "40414243", "5051525354555657"),
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
MAX_SIZE = 520  # past 512, so the random trees cross a power of two


class DictStore:
    """A ``SubtreeStore`` over the nodes a ``MerkleAppender`` emitted; counts the reads."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def add(self, nodes: Sequence[SubtreeNode]) -> None:
        for node in nodes:
            assert (node.level, node.index) not in self.nodes, "a node was emitted twice"
            self.nodes[node.level, node.index] = node.hash

    def subtree_hashes(self, addresses: Sequence[tuple[int, int]]) -> list[bytes]:
        self.reads += 1
        return [self.nodes[address] for address in addresses]


@cache
def leaves() -> list[bytes]:
    return [leaf_hash(f"entry {i}".encode()) for i in range(MAX_SIZE)]


@cache
def store() -> DictStore:
    """Every perfect subtree of the first MAX_SIZE leaves; a smaller tree has the same ones."""
    result, appender = DictStore(), MerkleAppender()
    for leaf in leaves():
        result.add(appender.append(leaf))
    return result


# --- the transparency-dev/merkle JSON vectors ----------------------------------------------------
# Only inclusion/ and consistency/ apply. subtreeinclusion/ and subtreeconsistency/ (fields
# start, end) test proofs about an arbitrary subtree [start, end) of a tree, a newer construction
# (Merkle Tree Certificates) that RFC 9162 does not define and our log does not issue.


def _vector_params(kind: str, pattern: str = "*.json") -> list[Any]:
    paths = sorted((VECTORS / kind).rglob(pattern))
    return [pytest.param(path, id=path.relative_to(VECTORS / kind).as_posix()) for path in paths]


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(h) for h in vector["proof"] or []]


@pytest.mark.parametrize("kind", ["inclusion", "consistency"])
def test_vectors_are_found(kind: str) -> None:
    assert len(list((VECTORS / kind).rglob("*.json"))) > 0, f"no vectors under {VECTORS / kind}"


@pytest.mark.parametrize("path", _vector_params("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)
    args = (_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], _proof(v), _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _vector_params("consistency"))
def test_consistency_vector(path: Path) -> None:
    v = _load(path)
    args = (v["size1"], v["size2"], _proof(v), _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def _ct_store() -> DictStore:
    result, appender = DictStore(), MerkleAppender()
    for data in CT_LEAVES:
        result.add(appender.append(leaf_hash(data)))
    return result


@pytest.mark.parametrize("path", _vector_params("inclusion", "happy-path.json"))
def test_happy_inclusion_vectors_are_our_proofs(path: Path) -> None:
    v = _load(path)
    hashed = [leaf_hash(d) for d in CT_LEAVES[: v["treeSize"]]]
    assert hashed[v["leafIdx"]] == _b64(v["leafHash"])
    assert root_from_leaves(hashed) == _b64(v["root"])
    assert inclusion_proof_from_leaves(v["leafIdx"], hashed) == _proof(v)
    assert inclusion_proof(_ct_store(), v["leafIdx"], v["treeSize"]) == _proof(v)


@pytest.mark.parametrize("path", _vector_params("consistency", "happy-path.json"))
def test_happy_consistency_vectors_are_our_proofs(path: Path) -> None:
    v = _load(path)
    hashed = [leaf_hash(d) for d in CT_LEAVES[: v["size2"]]]
    assert root_from_leaves(hashed[: v["size1"]]) == _b64(v["root1"])
    assert root_from_leaves(hashed) == _b64(v["root2"])
    assert consistency_proof_from_leaves(v["size1"], hashed) == _proof(v)
    assert consistency_proof(_ct_store(), v["size1"], v["size2"]) == _proof(v)


# --- known answers -------------------------------------------------------------------------------


def test_hashes_known_answers() -> None:
    # RFC 9162 §2.1.1; values from transparency-dev/merkle rfc6962/rfc6962_test.go.
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaves([]) == EMPTY_ROOT
    assert leaf_hash(b"") == CT_ROOTS[0]
    left, right = bytes(range(32)), bytes(range(32, 64))
    assert node_hash(left, right).hex() == (
        "1a378704c17da31e2d05b6d121c2bb2c7d76f6ee6fa8f983e596c2d034963c57"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_ct_tree_roots(size: int) -> None:
    hashed = [leaf_hash(d) for d in CT_LEAVES[:size]]
    assert root_from_leaves(hashed) == CT_ROOTS[size - 1]
    assert merkle.root(_ct_store(), size) == CT_ROOTS[size - 1]


def test_ct_consistency_proof_6_to_8() -> None:
    # google/certificate-transparency python/ct/crypto/merkle_test.py
    want = [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]
    proof = consistency_proof(_ct_store(), 6, 8)
    assert [h.hex() for h in proof] == want
    verify_consistency(6, 8, proof, CT_ROOTS[5], CT_ROOTS[7])


def test_proof_error_is_invalid_input() -> None:
    assert issubclass(ProofError, InvalidInput)
    assert ProofError.code == "invalid_proof"


# --- the storage-friendly implementation against the reference ----------------------------------


@pytest.mark.parametrize(
    ("begin", "end", "want"),
    [
        (0, 0, []),
        (0, 1, [(0, 0)]),
        (0, 8, [(3, 0)]),
        (0, 7, [(2, 0), (1, 2), (0, 6)]),
        (3, 13, [(0, 3), (2, 1), (2, 2), (0, 12)]),
        (5, 6, [(0, 5)]),
        (6, 16, [(1, 3), (3, 1)]),
    ],
)
def test_subtree_addresses_for_range(begin: int, end: int, want: list[tuple[int, int]]) -> None:
    assert subtree_addresses_for_range(begin, end) == want


@given(st.integers(0, 2000), st.integers(0, 2000))
@settings(max_examples=100, deadline=None)
def test_subtree_addresses_tile_the_range(begin: int, width: int) -> None:
    addresses = subtree_addresses_for_range(begin, begin + width)
    covered = [range(i << level, (i + 1) << level) for level, i in addresses]
    assert [leaf for r in covered for leaf in r] == list(range(begin, begin + width))
    assert len(addresses) <= 2 * max(width, 1).bit_length()


def test_every_proof_of_small_trees() -> None:
    for size in range(1, 34):
        hashed = leaves()[:size]
        tree_root = root_from_leaves(hashed)
        assert merkle.root(store(), size) == tree_root
        for index in range(size):
            proof = inclusion_proof(store(), index, size)
            assert proof == inclusion_proof_from_leaves(index, hashed)
            verify_inclusion(hashed[index], index, size, proof, tree_root)
        for first in range(1, size + 1):
            proof = consistency_proof(store(), first, size)
            assert proof == consistency_proof_from_leaves(first, hashed)
            verify_consistency(first, size, proof, root_from_leaves(hashed[:first]), tree_root)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return size, draw(st.integers(0, size - 1))


@given(tree_and_index())
@settings(max_examples=100, deadline=None)
def test_inclusion_proofs_match_the_reference_and_verify(case: tuple[int, int]) -> None:
    size, index = case
    hashed = leaves()[:size]
    tree_root = root_from_leaves(hashed)
    reads = store().reads
    proof = inclusion_proof(store(), index, size)
    assert store().reads == reads + (size > 1), "one batched read per proof"
    assert proof == inclusion_proof_from_leaves(index, hashed)
    assert merkle.root(store(), size) == tree_root
    verify_inclusion(hashed[index], index, size, proof, tree_root)


@given(tree_and_index())
@settings(max_examples=100, deadline=None)
def test_consistency_proofs_match_the_reference_and_verify(case: tuple[int, int]) -> None:
    second, first = case[0], case[1] + 1
    hashed = leaves()[:second]
    first_root, second_root = root_from_leaves(hashed[:first]), root_from_leaves(hashed)
    proof = consistency_proof(store(), first, second)
    assert proof == consistency_proof_from_leaves(first, hashed)
    verify_consistency(first, second, proof, first_root, second_root)


def _flip(value: bytes, bit: int) -> bytes:
    changed = bytearray(value)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


@given(tree_and_index(), st.integers(0, 255))
@settings(max_examples=100, deadline=None)
def test_a_flipped_bit_fails_inclusion(case: tuple[int, int], bit: int) -> None:
    size, index = case
    hashed = leaves()[:size]
    leaf, proof = hashed[index], inclusion_proof(store(), index, size)
    tree_root = merkle.root(store(), size)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, _flip(tree_root, bit))
    with pytest.raises(ProofError):
        verify_inclusion(_flip(leaf, bit), index, size, proof, tree_root)
    for position in range(len(proof)):
        changed = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, changed, tree_root)


@given(tree_and_index(), st.integers(0, 255))
@settings(max_examples=100, deadline=None)
def test_a_flipped_bit_fails_consistency(case: tuple[int, int], bit: int) -> None:
    second, first = case[0], case[1] + 1
    first_root, second_root = merkle.root(store(), first), merkle.root(store(), second)
    proof = consistency_proof(store(), first, second)
    with pytest.raises(ProofError):
        verify_consistency(first, second, proof, _flip(first_root, bit), second_root)
    with pytest.raises(ProofError):
        verify_consistency(first, second, proof, first_root, _flip(second_root, bit))
    for position in range(len(proof)):
        changed = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
        with pytest.raises(ProofError):
            verify_consistency(first, second, changed, first_root, second_root)


# --- the appender --------------------------------------------------------------------------------


def test_appender_emits_every_perfect_subtree_once() -> None:
    result, appender = DictStore(), MerkleAppender()
    assert appender.root() == EMPTY_ROOT
    for size, leaf in enumerate(leaves()[:100], start=1):
        result.add(appender.append(leaf))
        assert appender.size == size
        assert appender.root() == root_from_leaves(leaves()[:size])
        complete = {(lvl, i) for lvl in range(size.bit_length()) for i in range(size >> lvl)}
        assert set(result.nodes) == complete


def test_append_returns_the_leaf_then_the_subtrees_it_completes() -> None:
    appender = MerkleAppender()
    for leaf in leaves()[:7]:
        appender.append(leaf)
    nodes = appender.append(leaves()[7])
    assert [(n.level, n.index) for n in nodes] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert nodes[0].hash == leaves()[7]
    assert nodes[-1].hash == root_from_leaves(leaves()[:8])


@given(st.integers(0, 300), st.integers(1, 40))
@settings(max_examples=50, deadline=None)
def test_a_restored_appender_continues_the_same_tree(size: int, more: int) -> None:
    appender = MerkleAppender.restore(store(), size)
    assert appender.size == size
    assert appender.root() == root_from_leaves(leaves()[:size])
    for leaf in leaves()[size : size + more]:
        for node in appender.append(leaf):
            assert store().nodes[node.level, node.index] == node.hash
    assert appender.root() == root_from_leaves(leaves()[: size + more])


def test_appender_rejects_a_wrong_right_edge_and_short_leaves() -> None:
    with pytest.raises(ValueError, match="right-edge"):
        MerkleAppender(3, [leaves()[0]])
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleAppender().append(b"short")


# --- edge cases of the verifiers and generators --------------------------------------------------


def test_verifier_edge_cases() -> None:
    leaf, tree_root = leaves()[0], leaves()[0]
    verify_inclusion(leaf, 0, 1, [], tree_root)
    for index, size in [(0, 0), (1, 1), (-1, 1), (5, 3)]:
        with pytest.raises(ProofError, match="not in a tree"):
            verify_inclusion(leaf, index, size, [], tree_root)
    with pytest.raises(ProofError, match="too many"):
        verify_inclusion(leaf, 0, 1, [leaf], tree_root)
    with pytest.raises(ProofError, match="too few"):
        verify_inclusion(leaf, 0, 2, [], tree_root)
    with pytest.raises(ProofError, match="proof\\[0\\] has 0 bytes"):
        verify_inclusion(leaf, 0, 2, [b""], tree_root)
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match="prefix"):
        verify_consistency(3, 2, [], tree_root, tree_root)
    with pytest.raises(ProofError, match="non-empty proof"):
        verify_consistency(1, 2, [], tree_root, tree_root)
    verify_consistency(5, 5, [], tree_root, tree_root)


def test_generators_reject_impossible_requests() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(store(), 3, 3)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(store(), 0, 3)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(store(), 4, 3)
    with pytest.raises(ValueError, match="negative"):
        merkle.root(store(), -1)
    assert merkle.root(store(), 0) == EMPTY_ROOT
    assert consistency_proof(store(), 7, 7) == []
