"""The log's appender a transaction holds, and the entries it has not written yet.

An append computes its index, leaf hash and the subtree hashes it completes at once, in
Python (callers store the index), but the rows wait on the transaction's :class:`Held`
and go to the database as one ``executemany`` pair of ``log_entries`` and ``log_nodes``,
so a transaction of many appends (an outbox drain) pays two statements in all, not two
per append. Events write them:

- before any statement whose SQL names ``log_entries`` or ``log_nodes`` runs on the
  transaction's connection (an engine-wide ``before_cursor_execute`` hook, so ORM
  queries, Core, text and direct ``Connection`` use are all seen: every reader of the log
  in the transaction sees its own entries);
- before a commit (a savepoint's release too), and before a savepoint begins, on its
  parent's connection (so the rows appended before the savepoint survive its rollback);
- a rollback, of the transaction or a savepoint, drops the held appender with the rows
  not written (only those appended since the savepoint began); the next append reads
  the tree's right edge again.

A write that fails leaves indexes handed out with no rows behind them, so the held
appender is marked failed: appends and the commit of that transaction then refuse
(:class:`LogWriteFailed`) until the whole transaction rolls back (a savepoint's rollback
does not clear it: the rows lost may be the outer transaction's). No foreign key or
trigger reads the log's tables, so the session's own flushes need not write them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from trustdesk.errors import TrustdeskError
from trustdesk.records import leaf, merkle
from trustdesk.records.models import LogEntry, LogNode

HELD = "trustdesk.records.held"  # where a session keeps the lock and appender of its transaction
ENTRIES_TABLE, NODES_TABLE = LogEntry.__tablename__, LogNode.__tablename__
_ENTRIES = insert(LogEntry.metadata.tables[LogEntry.__tablename__])
_NODES = insert(LogNode.metadata.tables[LogNode.__tablename__])


class LogWriteFailed(TrustdeskError):
    """Writing the transaction's log entries failed; the transaction must roll back."""

    code = "log_write_failed"
    title = "Record log write failed"


@dataclass(frozen=True, slots=True)
class Appended:
    index: int
    leaf_hash: bytes


@dataclass(slots=True)
class Held:
    """The log's lock, held by one transaction; the tree's right edge as it appends; the
    rows appended and not yet written."""

    transaction: SessionTransaction
    appender: merkle.MerkleAppender | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    failed: BaseException | None = None  # why a write failed (the transaction must end)
    watched: dict[Any, Any] | None = None  # the info of the connection it is watched on

    def check(self) -> None:
        if self.failed is not None:
            msg = "the transaction's log entries were not written: roll it back"
            raise LogWriteFailed(msg) from self.failed


def buffer(held: Held, encoded: list[tuple[leaf.Event, bytes]], moment: datetime) -> list[Appended]:
    """Give each encoded event its index and leaf hash, and keep its rows to write."""
    if held.appender is None:
        raise RuntimeError("restore the appender before buffering entries")
    appender = held.appender.copy()  # taken over only once every entry is in
    entries: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    appended: list[Appended] = []
    for event, leaf_bytes in encoded:
        index, leaf_hash = appender.size, merkle.leaf_hash(leaf_bytes)
        entries.append(
            {
                "index": index,
                "type": event.type,
                "service_id": event.service_id,
                "recorded_at": moment,
                "leaf": leaf_bytes,
                "leaf_hash": leaf_hash,
            }
        )
        nodes.extend(
            {"level": level, "index": at, "hash": hash_}
            for level, at, hash_ in appender.append_hashes(leaf_hash)
        )
        appended.append(Appended(index, leaf_hash))
    held.entries.extend(entries)
    held.nodes.extend(nodes)
    held.appender = appender
    return appended


def write(connection: Connection, held: Held) -> None:
    """Write the rows ``held`` keeps, on ``connection`` (the transaction's)."""
    if not held.entries:
        return
    entries, nodes = held.entries, held.nodes
    held.entries, held.nodes = [], []
    try:
        connection.execute(_ENTRIES, entries)
        connection.execute(_NODES, nodes)
    except BaseException as exc:
        held.appender, held.failed = None, exc
        raise


def watch(session: Session, held: Held) -> None:
    """Have statements on the transaction's connection write ``held``'s rows first when
    their SQL names the log's tables."""
    if held.watched is None:
        info = session.connection().info
        info[HELD] = held
        held.watched = info


def _unwatch(held: Held) -> None:
    if held.watched is not None and held.watched.get(HELD) is held:
        del held.watched[HELD]
    held.watched = None


def _current(session: Session) -> Held | None:
    """The held appender of the session's transaction (a stale one is dropped)."""
    held = session.info.get(HELD)
    if not isinstance(held, Held):
        return None
    if held.transaction is not session.get_transaction():
        forget(session)
        return None
    return held


def _before_cursor(connection: Connection, _cursor: Any, statement: str, *_rest: Any) -> None:
    held = connection.info.get(HELD)
    if held is None or not held.entries:
        return
    if not held.transaction.is_active:  # stale: its transaction ended unseen
        _unwatch(held)
        return
    if ENTRIES_TABLE in statement or NODES_TABLE in statement:
        write(connection, held)  # its own INSERTs find nothing left to write


def _before_commit(session: Session) -> None:
    held = _current(session)
    if held is None:
        return
    held.check()
    write(session.connection(), held)


def _before_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if not transaction.nested or transaction.parent is None:
        return
    held = _current(session)
    if held is not None and held.entries:
        try:
            write(transaction.parent.connection(None), held)
        except Exception:
            return  # raising here would leave the session half into the savepoint


def forget(session: Session, *_args: object) -> None:
    held = session.info.pop(HELD, None)
    if isinstance(held, Held):
        _unwatch(held)


def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    held = session.info.get(HELD)
    if isinstance(held, Held) and held.failed is not None and previous.nested:
        return  # refused until the whole transaction rolls back
    forget(session)


def _after_end(session: Session, transaction: SessionTransaction) -> None:
    held = session.info.get(HELD)
    if isinstance(held, Held) and held.transaction is transaction:
        forget(session)


sa_event.listen(Engine, "before_cursor_execute", _before_cursor)
sa_event.listen(Session, "before_commit", _before_commit)
sa_event.listen(Session, "after_transaction_create", _before_savepoint)
sa_event.listen(Session, "after_soft_rollback", _after_rollback)
sa_event.listen(Session, "after_transaction_end", _after_end)
