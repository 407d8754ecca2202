"""Merkle tree hashes, proofs and their verification: RFC 9162 §2.1 (Certificate Transparency).

* ``leaf_hash``, ``node_hash`` and the tree hash MTH: §2.1.1.
* The reference implementation, the RFC's recursive definitions over a list of leaf hashes:
  ``root_from_leaves`` (MTH), ``inclusion_proof_from_leaves`` (PATH, §2.1.3.1) and
  ``consistency_proof_from_leaves`` (PROOF / SUBPROOF, §2.1.4.1).
* The storage-friendly implementation, which tests hold to the reference: ``root``,
  ``inclusion_proof`` and ``consistency_proof`` read only hashes of perfect subtrees, O(log n) of
  them in one batched :class:`SubtreeStore` call. :class:`MerkleAppender` emits those hashes as
  leaves are appended, so a log stores each one once.
* ``verify_inclusion`` and ``verify_consistency``: the verification algorithms of §2.1.3.2 and
  §2.1.4.2; they raise :class:`ProofError`.

A perfect subtree is addressed ``(level, index)``: it covers the leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from trustdesk.errors import InvalidInput

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(InvalidInput):
    """A Merkle proof did not verify against the sizes and hashes it was given."""

    code = "invalid_proof"
    title = "Invalid proof"


@dataclass(frozen=True, slots=True)
class SubtreeNode:
    """The hash of the perfect subtree ``(level, index)``."""

    level: int
    index: int
    hash: bytes


class SubtreeStore(Protocol):
    """Where the hashes of perfect subtrees are kept (a database table, a dict in tests)."""

    def subtree_hashes(self, addresses: Sequence[tuple[int, int]]) -> Sequence[bytes]:
        """Return the hash of each perfect subtree ``(level, index)``, in the order asked."""
        ...


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (for n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """The root over perfect subtrees listed left to right, largest first."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


# The reference: RFC 9162's recursive definitions, hashing every leaf on each call.


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over hashed leaves (§2.1.1)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_from_leaves(leaf_hashes[:k]), root_from_leaves(leaf_hashes[k:]))


def inclusion_proof_from_leaves(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (§2.1.3.1); raises ``ValueError`` unless 0 <= index < n."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} is not in a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        subpath = inclusion_proof_from_leaves(index, leaf_hashes[:k])
        return [*subpath, root_from_leaves(leaf_hashes[k:])]
    subpath = inclusion_proof_from_leaves(index - k, leaf_hashes[k:])
    return [*subpath, root_from_leaves(leaf_hashes[:k])]


def consistency_proof_from_leaves(first: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (§2.1.4.1), empty when m == n; raises ``ValueError`` unless 0 < m <= n."""
    if not 0 < first <= len(leaf_hashes):
        raise ValueError(f"no consistency proof from size {first} to size {len(leaf_hashes)}")
    return _subproof(first, leaf_hashes, b=True)


def _subproof(m: int, leaves: Sequence[bytes], *, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b); ``b`` says D[0:m] is the whole first tree, whose root is known."""
    n = len(leaves)
    if m == n:
        return [] if b else [root_from_leaves(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], b=b), root_from_leaves(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], b=False), root_from_leaves(leaves[:k])]


# The storage-friendly implementation: the same recursions over leaf ranges, hashes read at the end.


def subtree_addresses_for_range(begin: int, end: int) -> list[tuple[int, int]]:
    """The fewest perfect subtrees covering ``[begin, end)``, left to right."""
    if not 0 <= begin <= end:
        raise ValueError(f"[{begin}, {end}) is not a range of leaves")
    addresses = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        if begin:
            level = min(level, (begin & -begin).bit_length() - 1)
        addresses.append((level, begin >> level))
        begin += 1 << level
    return addresses


def _range_hashes(store: SubtreeStore, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """MTH of each leaf range, from one batched read of its perfect subtrees."""
    parts = [subtree_addresses_for_range(begin, end) for begin, end in ranges]
    addresses = [address for part in parts for address in part]
    if not addresses:
        return []
    hashes = list(store.subtree_hashes(addresses))
    if len(hashes) != len(addresses):
        raise RuntimeError(f"store answered {len(hashes)} hashes for {len(addresses)} subtrees")
    result, at = [], 0
    for part in parts:
        result.append(_fold(hashes[at : at + len(part)]))
        at += len(part)
    return result


def root(store: SubtreeStore, size: int) -> bytes:
    """MTH of the first ``size`` leaves."""
    if size < 0:
        raise ValueError(f"tree size {size} is negative")
    return _range_hashes(store, [(0, size)])[0] if size else EMPTY_ROOT


def inclusion_proof(store: SubtreeStore, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]), equal to :func:`inclusion_proof_from_leaves`."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges, low, high = [], 0, size
    while high - low > 1:
        k = _split(high - low)
        if index < low + k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
    return _range_hashes(store, ranges[::-1])


def consistency_proof(store: SubtreeStore, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]), equal to :func:`consistency_proof_from_leaves`."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    ranges, low, high, b = [], 0, second, True
    while first != high:
        k = _split(high - low)
        if first <= low + k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low, b = low + k, False
    if not b:
        ranges.append((low, high))
    return _range_hashes(store, ranges[::-1])


class MerkleAppender:
    """Appends leaf hashes, keeping the right edge: a subtree hash per set bit of the size."""

    def __init__(self, size: int = 0, right_edge: Sequence[bytes] = ()) -> None:
        """Resume a tree of ``size`` leaves from its right edge, largest subtree first."""
        if size < 0 or len(right_edge) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} right-edge subtrees")
        self._size = size
        self._edge = list(right_edge)

    @classmethod
    def restore(cls, store: SubtreeStore, size: int) -> MerkleAppender:
        """Resume from stored subtree hashes, with one read."""
        addresses = subtree_addresses_for_range(0, size)
        return cls(size, list(store.subtree_hashes(addresses)) if addresses else [])

    @property
    def size(self) -> int:
        return self._size

    def copy(self) -> MerkleAppender:
        """An appender at the same point, moving on its own."""
        twin = MerkleAppender.__new__(MerkleAppender)
        twin._size, twin._edge = self._size, list(self._edge)
        return twin

    def append(self, leaf: bytes) -> list[SubtreeNode]:
        """Add one leaf hash; return the perfect subtrees it completes, the leaf itself first."""
        return [SubtreeNode(*node) for node in self.append_hashes(leaf)]

    def append_hashes(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """:meth:`append`, each completed subtree as ``(level, index, hash)``."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
        level, index, current = 0, self._size, leaf
        nodes = [(level, index, current)]
        edge = self._edge
        while index & 1:
            current = node_hash(edge.pop(), current)
            level, index = level + 1, index >> 1
            nodes.append((level, index, current))
        edge.append(current)
        self._size += 1
        return nodes

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        return _fold(self._edge) if self._edge else EMPTY_ROOT


def _check_sizes(proof: Sequence[bytes], **hashes: bytes) -> None:
    named = [*hashes.items(), *((f"proof[{i}]", h) for i, h in enumerate(proof))]
    for name, value in named:
        if len(value) != HASH_SIZE:
            raise ProofError(f"{name} has {len(value)} bytes, not {HASH_SIZE}")


def _chain(fn: int, sn: int, seed: bytes, path: Sequence[bytes]) -> tuple[bytes, bytes]:
    """The loop of §2.1.3.2 and §2.1.4.2: the first and second roots that ``path`` leads to."""
    first = second = seed
    for sibling in path:
        if sn == 0:
            raise ProofError("the proof has too many hashes for the tree sizes")
        if fn & 1 or fn == sn:
            first, second = node_hash(sibling, first), node_hash(sibling, second)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof has too few hashes for the tree sizes")
    return first, second


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_sizes(proof, leaf_hash=leaf_hash, root=root)
    if _chain(index, size - 1, leaf_hash, proof)[1] != root:
        raise ProofError("the proof does not lead to the root hash")


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """Check that the tree of ``first`` leaves is a prefix of the tree of ``second`` leaves."""
    if first < 0 or first > second:
        raise ProofError(f"no tree of size {first} is a prefix of a tree of size {second}")
    if first == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if first == second:
        if proof:
            raise ProofError("trees of equal size take an empty proof")
        if first_root != second_root:
            raise ProofError("trees of equal size have different root hashes")
        return
    if not proof:
        raise ProofError("trees of different sizes need a non-empty proof")
    _check_sizes(proof, first_root=first_root, second_root=second_root)
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_result, second_result = _chain(fn, sn, path[0], path[1:])
    if first_result != first_root:
        raise ProofError("the proof does not lead to the first root hash")
    if second_result != second_root:
        raise ProofError("the proof does not lead to the second root hash")
