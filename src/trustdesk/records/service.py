"""Use cases of the record log: append events, sign checkpoints, serve entries and proofs.

:func:`append` runs inside the caller's transaction, so a change and its log entry commit
or roll back together. Appends are serialised (a PostgreSQL advisory lock; SQLite's
``BEGIN IMMEDIATE``), read the O(log n) right edge of the tree, and store the leaf with
every perfect subtree it completes, so proofs later need O(log n) reads.

Appends are group-committed: the first append of a transaction takes the lock and restores
the right edge; the session keeps that appender to the end of the transaction, so later
appends in it (a batch of follow-ups: entries, cases, decisions) take no lock and read no
node. Their rows are written together, before anything in the transaction reads the log
and before it commits (:mod:`trustdesk.records.pending`). Session events drop the
appender on commit and on any rollback (a savepoint's too).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db.base import utcnow
from trustdesk.db.engine import (
    READ_ONLY,
    Database,
    ReadOnlyTransaction,
    read_transaction,
    transaction,
)
from trustdesk.errors import InvalidInput, NotFound
from trustdesk.records import leaf, merkle, pending
from trustdesk.records.events import EventType
from trustdesk.records.models import LogCheckpoint, LogEntry
from trustdesk.records.note import Checkpoint, NoteSigner
from trustdesk.records.pending import HELD, Appended
from trustdesk.records.store import DatabaseSubtreeStore, LogCorrupted
from trustdesk.settings import get_settings

LOCK_KEY = 0x7472_7573_7464  # "trustd": the advisory lock that serialises appends
DIGEST_KEY = "trustdesk.records.log_digest_key"  # where a session finds the log digest key
MAX_PAGE = 1000


class EntryNotFound(NotFound):
    code = "entry_not_found"


class InvalidProofRequest(InvalidInput):
    code = "invalid_proof_request"


@dataclass(frozen=True, slots=True)
class EntryView:
    index: int
    leaf: bytes
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class CheckpointView:
    size: int
    root_hash: bytes
    signed_at: datetime
    note: str


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _held(session: Session) -> pending.Held:
    """The lock of the session's current transaction, taken on first use in it."""
    root = session.get_transaction()
    held = session.info.get(HELD)
    if isinstance(held, pending.Held) and root is not None and held.transaction is root:
        held.check()
        return held
    if root is None:
        raise RuntimeError("the log's lock lasts a transaction: open one first")
    _lock(session)
    held = session.info[HELD] = pending.Held(root)
    return held


def lock(session: Session) -> None:
    """Take the log's lock until the end of the caller's transaction (appends in it then
    take it no more): whatever the transaction reads after this, no other appender changes
    until it ends."""
    _held(session)


def _size(session: Session) -> int:
    last = session.scalar(select(func.max(LogEntry.index)))
    return 0 if last is None else last + 1


def size(session: Session) -> int:
    """How many entries the log holds."""
    with read_transaction(session):
        return _size(session)


def append(
    session: Session,
    type_: EventType,
    *,
    service_id: uuid.UUID | None,
    data: Mapping[str, Any],
    now: datetime | None = None,
) -> Appended:
    """Append one event inside the caller's transaction (or a new one)."""
    return append_many(session, [leaf.Event(type_, service_id, data)], now=now)[0]


class _KeyFile:
    """The digest key at a path, opened (and made, the first time) on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: LogDigestKey | None = None

    def get(self) -> LogDigestKey:
        if self._key is None:
            self._key = LogDigestKey.open(self.path)
        return self._key


def use_digest_key(database: Database, key: LogDigestKey | Path) -> None:
    """Give every session of ``database`` the key of the log's keyed digests: the key, or
    the path of its file, opened when a first entry needs it (commands that only read the
    log never make one)."""
    database.info[DIGEST_KEY] = key if isinstance(key, LogDigestKey) else _KeyFile(key)


def _digester(session: Session) -> leaf.Digester:
    """The session's digest key (:func:`use_digest_key`); for a database opened without
    one, the key file the environment's settings name, as ``trustdesk`` commands use."""
    key = session.info.get(DIGEST_KEY)
    if isinstance(key, LogDigestKey):
        return key.digest
    if not isinstance(key, _KeyFile):
        key = session.info[DIGEST_KEY] = _KeyFile(get_settings().log_digest_key_path)
    holder = key
    return lambda value: holder.get().digest(value)


def keyed_digest(session: Session, value: str) -> str:
    """The keyed digest that new entries carry for ``value`` (to find them again)."""
    return _digester(session)(value)


def append_many(
    session: Session, events: Iterable[leaf.Event], *, now: datetime | None = None
) -> list[Appended]:
    """Append events in order, in one transaction: their indexes and leaf hashes now,
    their rows before the transaction next reads the log or commits."""
    moment = now or utcnow()
    digester = _digester(session)
    encoded = [(event, leaf.encode(event, moment, digester)) for event in events]
    with transaction(session):
        if session.info.get(READ_ONLY):  # its rows would otherwise meet the refusal at commit
            raise ReadOnlyTransaction("a read transaction cannot write (log append refused)")
        held = _held(session)
        if held.appender is None:  # the transaction's first append: one read of the edge
            held.appender = merkle.MerkleAppender.restore(
                DatabaseSubtreeStore(session), _size(session)
            )
        appended = pending.buffer(held, encoded, moment)
        pending.watch(session, held)
        return appended


def _view(row: LogCheckpoint) -> CheckpointView:
    return CheckpointView(row.size, row.root_hash, row.signed_at, row.note)


def _latest(session: Session) -> LogCheckpoint | None:
    return session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))


def recorded_at(session: Session, index: int) -> datetime | None:
    """When entry ``index`` was appended (None if the log has no such entry)."""
    with read_transaction(session):
        return session.scalar(select(LogEntry.recorded_at).where(LogEntry.index == index))


def latest_checkpoint(session: Session) -> CheckpointView | None:
    with read_transaction(session):
        row = _latest(session)
        return _view(row) if row else None


def make_checkpoint(
    session: Session, signer: NoteSigner, origin: str, *, now: datetime | None = None
) -> CheckpointView:
    """Sign the current tree head, unless the latest checkpoint already covers it."""
    moment = now or utcnow()
    with transaction(session):
        _held(session)
        current = _size(session)
        latest = _latest(session)
        if latest is not None and latest.size == current:
            return _view(latest)
        if latest is not None and latest.size > current:
            msg = f"a checkpoint covers {latest.size} entries but the log holds {current}"
            raise LogCorrupted(msg)
        root_hash = merkle.root(DatabaseSubtreeStore(session), current)
        body = Checkpoint(origin, current, root_hash, (f"time {leaf.timestamp(moment)}",))
        row = LogCheckpoint(
            size=current, root_hash=root_hash, signed_at=moment, note=signer.sign(body.body())
        )
        session.add(row)
        session.flush()
        return _view(row)


def entries(
    session: Session, start: int, end: int, *, service_id: uuid.UUID | None = None
) -> list[EntryView]:
    """Entries ``start <= index < end``, at most :data:`MAX_PAGE`; optionally one service's."""
    if start < 0 or end < start:
        raise InvalidProofRequest("entries need 0 <= start <= end")
    end = min(end, start + MAX_PAGE)
    query = select(LogEntry.index, LogEntry.leaf, LogEntry.leaf_hash).where(
        LogEntry.index >= start, LogEntry.index < end
    )
    if service_id is not None:
        query = query.where(LogEntry.service_id == service_id)
    with read_transaction(session):
        rows = session.execute(query.order_by(LogEntry.index)).all()
    return [EntryView(index, leaf_bytes, leaf_hash) for index, leaf_bytes, leaf_hash in rows]


def entry(session: Session, index: int) -> EntryView:
    found = entries(session, index, index + 1) if index >= 0 else []
    if not found:
        raise EntryNotFound(f"the log has no entry {index}")
    return found[0]


def inclusion_proof(session: Session, index: int, tree_size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of entry ``index`` in the tree of ``tree_size`` entries."""
    with read_transaction(session):
        current = _size(session)
        if not 0 <= index < tree_size <= current:
            msg = f"need 0 <= index < size <= {current} (the log's size); got {index}, {tree_size}"
            raise InvalidProofRequest(msg)
        return merkle.inclusion_proof(DatabaseSubtreeStore(session), index, tree_size)


@dataclass(frozen=True, slots=True)
class Proven:
    """An entry's inclusion proof against a checkpoint, and the proof checked:
    ``failure`` is None if it holds, else why not."""

    entry: EntryView
    checkpoint: CheckpointView
    path: list[bytes]
    failure: merkle.ProofError | None


def prove(session: Session, index: int, against: CheckpointView | None = None) -> Proven | None:
    """Prove entry ``index`` against ``against`` (default: the latest checkpoint) and check
    the proof; None if that checkpoint does not cover the entry (or there is none yet)."""
    checkpoint = against if against is not None else latest_checkpoint(session)
    if checkpoint is None or index >= checkpoint.size:
        return None
    found = entry(session, index)
    path = inclusion_proof(session, index, checkpoint.size)
    try:
        merkle.verify_inclusion(found.leaf_hash, index, checkpoint.size, path, checkpoint.root_hash)
    except merkle.ProofError as exc:
        return Proven(found, checkpoint, path, exc)
    return Proven(found, checkpoint, path, None)


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    """The RFC 9162 consistency proof between the trees of ``first`` and ``second`` entries."""
    with read_transaction(session):
        current = _size(session)
        if not 0 < first <= second <= current:
            msg = f"need 0 < first <= second <= {current} (the log's size); got {first}, {second}"
            raise InvalidProofRequest(msg)
        return merkle.consistency_proof(DatabaseSubtreeStore(session), first, second)


def root_at(session: Session, tree_size: int) -> bytes:
    with read_transaction(session):
        if not 0 <= tree_size <= _size(session):
            raise InvalidProofRequest(f"the log has no tree of size {tree_size}")
        return merkle.root(DatabaseSubtreeStore(session), tree_size)


def count(
    session: Session,
    type_: EventType,
    *,
    service_id: uuid.UUID | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """How many entries of one type the log holds (for one service, in ``[start, end)``)."""
    query = select(func.count()).select_from(LogEntry).where(LogEntry.type == str(type_))
    if service_id is not None:
        query = query.where(LogEntry.service_id == service_id)
    if start is not None:
        query = query.where(LogEntry.recorded_at >= start)
    if end is not None:
        query = query.where(LogEntry.recorded_at < end)
    with read_transaction(session):
        return int(session.scalar(query) or 0)
