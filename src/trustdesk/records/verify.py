"""``trustdesk log verify``: recompute the whole log from its stored leaves and check it.

Streams the entries in index order with bounded memory: every leaf hash is recomputed from
the leaf bytes, the tree is rebuilt and every stored subtree hash compared with the rebuilt
one, every checkpoint's signature is checked and its root compared with the rebuilt root at
its size, and consecutive checkpoints are checked for consistency with an RFC 9162 proof.
The first entry that is wrong stops the walk (what follows it cannot be trusted); every
checkpoint problem found before that is reported too.

The log only grows (its tables refuse UPDATE and DELETE), so verification fixes the size
and the checkpoints it checks in a first short read, then reads one chunk per short read
transaction: on a running server, writers never wait for it (on SQLite a read transaction
is deferred and holds no lock) and entries appended meanwhile are left for the next run.

All of that is checked against what the database holds, so whoever can write to it can cut
the log's tail together with the checkpoints that covered it, or rewrite it and let the
server sign fresh checkpoints: the stored log is then consistent with itself. Only a
checkpoint kept outside the database catches that: given one (``kept``), its signature is
checked with the log's key and the current log is proved consistent with it by an RFC 9162
consistency proof; a kept checkpoint larger than the log means entries were cut.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from trustdesk.db.engine import read_transaction
from trustdesk.records import merkle
from trustdesk.records.models import LogCheckpoint, LogEntry, LogNode
from trustdesk.records.note import NoteError, NoteVerifier, open_checkpoint
from trustdesk.records.store import DatabaseSubtreeStore

CHUNK = 10_000  # entries per read transaction
CONSISTENCY_CHUNK = 100  # checkpoint pairs per read transaction


@dataclass
class Report:
    """What verification found: counts, and problems in the order met."""

    entries: int = 0
    checkpoints: int = 0
    kept: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _entries(
    session: Session, size: int
) -> Iterator[tuple[list[LogEntry], dict[tuple[int, int], bytes]]]:
    """The first ``size`` entries a chunk at a time, each with the subtree hashes its leaves
    complete, every chunk read in a read transaction of its own."""
    start = 0
    while start < size:
        with read_transaction(session):
            rows = list(
                session.scalars(
                    select(LogEntry)
                    .where(LogEntry.index >= start, LogEntry.index < size)
                    .order_by(LogEntry.index)
                    .limit(CHUNK)
                )
            )
            if not rows:
                return
            begin, end = start, start + len(rows)
            stored = _stored_nodes(session, begin, end, end.bit_length())
        session.expunge_all()
        yield rows, stored
        start = rows[-1].index + 1


def _stored_nodes(
    session: Session, begin: int, end: int, levels: int
) -> dict[tuple[int, int], bytes]:
    """Stored subtree hashes completed by the leaves ``[begin, end)``, every level."""
    ranges = []
    for level in range(levels + 1):
        low = -(-(begin + 1) // (1 << level)) - 1  # first subtree whose last leaf >= begin
        high = end // (1 << level) - 1  # last subtree whose last leaf < end
        if high >= max(low, 0):
            ranges.append(and_(LogNode.level == level, LogNode.index.between(max(low, 0), high)))
    if not ranges:
        return {}
    rows = session.execute(select(LogNode.level, LogNode.index, LogNode.hash).where(or_(*ranges)))
    return {(level, index): hash_ for level, index, hash_ in rows}


def _check_entry(row: LogEntry, expected: int) -> str | None:
    if row.index != expected:
        return f"entry {expected}: missing (the next stored entry is {row.index})"
    if merkle.leaf_hash(row.leaf) != row.leaf_hash:
        return f"entry {expected}: the stored leaf hash does not match the leaf"
    try:
        document = json.loads(row.leaf)
    except ValueError:
        return f"entry {expected}: the leaf is not JSON"
    if document.get("type") != row.type:
        return f"entry {expected}: the type column disagrees with the leaf"
    if document.get("service") != (str(row.service_id) if row.service_id else None):
        return f"entry {expected}: the service column disagrees with the leaf"
    return None


def _check_checkpoint(
    row: LogCheckpoint, root: bytes, verifiers: Sequence[NoteVerifier], origin: str
) -> str | None:
    try:
        signed = open_checkpoint(row.note, verifiers, origin=origin)
    except NoteError as exc:
        return f"checkpoint {row.size}: {exc.message}"
    if signed.size != row.size or signed.root_hash != row.root_hash:
        return f"checkpoint {row.size}: the stored size or root differs from the signed note"
    if root != row.root_hash:
        return (
            f"checkpoint {row.size}: its root is not the root of the log's first {row.size} entries"
        )
    return None


def verify_log(
    session: Session,
    verifiers: Sequence[NoteVerifier],
    origin: str,
    progress: Callable[[int], None] | None = None,
    kept: Sequence[str | bytes] = (),
) -> Report:
    """Check the log as it stands when called; ``progress`` is told how many entries each
    chunk held; ``kept`` are signed checkpoints an auditor kept, which the log must still be
    consistent with."""
    report = Report()
    appender = _walk(session, verifiers, origin, progress, report)
    if appender is not None:
        for note in kept:
            problem = _check_kept(session, note, verifiers, origin, appender)
            if problem:
                report.problems.append(problem)
            report.kept += 1
    return report


def _check_kept(
    session: Session,
    note: str | bytes,
    verifiers: Sequence[NoteVerifier],
    origin: str,
    log: merkle.MerkleAppender,
) -> str | None:
    """Whether the log of ``log.size`` entries (stored hashes already checked against the
    rebuilt tree) still holds the tree the kept checkpoint ``note`` signed."""
    try:
        kept = open_checkpoint(note, verifiers, origin=origin)
    except NoteError as exc:
        return f"kept checkpoint: {exc.message}"
    if kept.size > log.size:
        return (
            f"kept checkpoint {kept.size}: the log holds only {log.size} entries; "
            "entries that the checkpoint covered were cut"
        )
    if kept.size == 0:
        return None
    with read_transaction(session):
        proof = merkle.consistency_proof(DatabaseSubtreeStore(session), kept.size, log.size)
    try:
        merkle.verify_consistency(kept.size, log.size, proof, kept.root_hash, log.root())
    except merkle.ProofError as exc:
        return (
            f"kept checkpoint {kept.size}: the log of {log.size} entries is not consistent "
            f"with it (entries it covered were changed): {exc.message}"
        )
    return None


def _walk(
    session: Session,
    verifiers: Sequence[NoteVerifier],
    origin: str,
    progress: Callable[[int], None] | None,
    report: Report,
) -> merkle.MerkleAppender | None:
    """The log as it stands when called, rebuilt and checked in short read transactions;
    None when an entry is wrong (the walk stopped there)."""
    with read_transaction(session):
        size = _size(session)
        checkpoints = list(session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size)))
    session.expunge_all()
    pending = iter(checkpoints)
    next_checkpoint = next(pending, None)
    appender = merkle.MerkleAppender()

    def settle_checkpoints() -> None:
        nonlocal next_checkpoint
        while next_checkpoint is not None and next_checkpoint.size == appender.size:
            problem = _check_checkpoint(next_checkpoint, appender.root(), verifiers, origin)
            if problem:
                report.problems.append(problem)
            report.checkpoints += 1
            next_checkpoint = next(pending, None)

    settle_checkpoints()
    for rows, stored in _entries(session, size):
        for row in rows:
            problem = _check_entry(row, appender.size)
            if problem is None:
                for node in appender.append(row.leaf_hash):
                    if stored.get((node.level, node.index)) != node.hash:
                        problem = (
                            f"entry {row.index}: the stored hash of subtree "
                            f"(level {node.level}, index {node.index}) is wrong or missing"
                        )
                        break
            if problem:
                report.problems.append(problem)
                return None
            report.entries += 1
            settle_checkpoints()
        if progress:
            progress(len(rows))
    if next_checkpoint is not None:
        report.problems.append(
            f"checkpoint {next_checkpoint.size}: covers more entries than the log holds "
            f"({appender.size})"
        )
        return appender
    with read_transaction(session):
        now, stored_nodes = _nodes_and_size(session)
    if stored_nodes != _node_count(now):
        report.problems.append(
            f"the log stores {stored_nodes} subtree hashes where {now} entries make "
            f"{_node_count(now)}"
        )
    _check_consistency(session, checkpoints, report)
    return appender


def _size(session: Session) -> int:
    last = session.scalar(select(func.max(LogEntry.index)))
    return 0 if last is None else last + 1


def _node_count(size: int) -> int:
    """How many perfect subtrees (stored hashes) a log of ``size`` entries has."""
    return sum(size >> level for level in range(size.bit_length()))


def _nodes_and_size(session: Session) -> tuple[int, int]:
    """The log's size now and the subtree hashes stored, read by one statement (one snapshot
    on both backends: entries appended meanwhile came with their subtrees)."""
    nodes = select(func.count()).select_from(LogNode).scalar_subquery()
    last = select(func.max(LogEntry.index)).scalar_subquery()
    row = session.execute(select(last, nodes)).one()
    return (0 if row[0] is None else row[0] + 1), int(row[1] or 0)


def _check_consistency(
    session: Session, checkpoints: Sequence[LogCheckpoint], report: Report
) -> None:
    pairs = [(a, b) for a, b in itertools.pairwise(checkpoints) if a.size]
    for at in range(0, len(pairs), CONSISTENCY_CHUNK):
        with read_transaction(session):
            store = DatabaseSubtreeStore(session)
            proofs = [
                merkle.consistency_proof(store, first.size, second.size)
                for first, second in pairs[at : at + CONSISTENCY_CHUNK]
            ]
        for (first, second), proof in zip(pairs[at : at + CONSISTENCY_CHUNK], proofs, strict=True):
            _check_pair(first, second, proof, report)


def _check_pair(
    first: LogCheckpoint, second: LogCheckpoint, proof: list[bytes], report: Report
) -> None:
    try:
        merkle.verify_consistency(first.size, second.size, proof, first.root_hash, second.root_hash)
    except merkle.ProofError as exc:
        report.problems.append(
            f"checkpoint {second.size}: not consistent with checkpoint {first.size}: {exc.message}"
        )
