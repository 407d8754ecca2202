"""Engines and sessions.

:class:`Database` owns an engine and a session factory.  Services receive a
:class:`~sqlalchemy.orm.Session` from the adapter (HTTP request, CLI command) and open
their transactions on it; tests hand the factory a connection inside an outer
transaction so each test is rolled back at the end.

Two kinds of transaction: :func:`transaction` for use cases that may write (on SQLite it
takes the write lock at ``BEGIN IMMEDIATE``, so writers queue instead of failing: a
process's own writers in the process, see :mod:`trustdesk.db.writegate`), and
:func:`read_transaction` for use cases that only read. A read transaction is deferred on
SQLite (WAL gives it a snapshot; it never holds the write lock, so however long it lasts
no writer waits for it) and refuses writes on both backends: ``PRAGMA query_only`` on
SQLite, ``SET TRANSACTION READ ONLY`` on PostgreSQL, and the session refuses to flush or
execute an INSERT, UPDATE or DELETE (:class:`ReadOnlyTransaction`), so a read use case
cannot write by accident.
"""

from __future__ import annotations

import functools
import select
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from trustdesk.db.writegate import BUSY_MILLISECONDS, WriteGate, gated
from trustdesk.errors import ConfigurationError
from trustdesk.settings import Settings


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the pysqlite driver, decide where transactions begin, so that
    # SAVEPOINTs and transactional DDL work (SQLAlchemy's documented SQLite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_MILLISECONDS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = "trustdesk_read_only"  # execution option and session flag of a read transaction


class ReadOnlyTransaction(RuntimeError):
    """A read transaction was asked to write: a programming error."""


def _query_only(connection: Connection, on: bool) -> None:
    """Set SQLite's ``query_only`` on this DBAPI connection (remembered, so set only on change)."""
    if connection.info.get(READ_ONLY, False) != on:
        connection.exec_driver_sql(f"PRAGMA query_only = {'ON' if on else 'OFF'}")
        connection.info[READ_ONLY] = on


def _on_sqlite_begin(gate: WriteGate, connection: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN (waiting up to busy_timeout) rather than at
    # the first write, where a stale read snapshot would fail at once with SQLITE_BUSY.
    # SQLite has one writer at a time anyway; this makes concurrent use cases queue, in
    # the process first (the gate), then on the file. A read transaction begins deferred:
    # it reads a WAL snapshot and never takes the lock.
    # (query_only first: under it, even BEGIN IMMEDIATE is refused as a write)
    read_only = bool(connection.get_execution_options().get(READ_ONLY))
    _query_only(connection, read_only)
    if read_only:
        connection.exec_driver_sql("BEGIN")
    else:
        gate.begin(connection)


def _on_postgresql_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def _without_details(context: ExceptionContext) -> None:
    """Keep only PostgreSQL's primary error message: its DETAIL quotes the values of a
    violated key (``Key (subject)=(...) already exists``), which are user content and would
    reach the server log. The detail stays readable as ``orig.diag.message_detail``."""
    original = context.original_exception
    message = str(original)
    primary = message.split("\n", 1)[0]
    if primary == message:
        return
    original.args = (primary,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None and len(wrapped.args) == 1:
        wrapped.args = (str(wrapped.args[0]).replace(message, primary),)


@dataclass(frozen=True, slots=True)
class PoolSizes:
    """Connections one process keeps (``size``), opens beyond them at a peak and closes
    after (``overflow``), and the age at which one is replaced (``recycle`` seconds)."""

    size: int = 8
    overflow: int = 4
    recycle: int = 1800

    @classmethod
    def of(cls, settings: Settings) -> PoolSizes:
        return cls(
            settings.database_pool_size,
            settings.database_max_overflow,
            settings.database_pool_recycle_seconds,
        )


def _alive_at_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled PostgreSQL connection the server has closed, without a round trip.

    An idle connection has nothing to read; a readable socket means the server sent its
    goodbye (``terminating connection``: a restart, ``pg_terminate_backend``, an idle
    timeout) or closed it. The pool then drops it and checks out another (SQLAlchemy's
    ``DisconnectionError`` protocol), so no request sees the dead one. A ``SELECT 1`` per
    checkout (``pool_pre_ping``) would cost a round trip on every transaction instead.
    A connection cut without a word (a dead network) fails at its first statement; the
    disconnect is recognised then and the whole pool is replaced.
    """
    try:
        pgconn = dbapi_connection.pgconn
        poller = select.poll()  # (not select.select: it fails on descriptors past 1023)
        poller.register(pgconn.socket, select.POLLIN)
        readable = poller.poll(0)
    except Exception as error:  # closed already: no socket to look at
        raise exc.DisconnectionError(str(error)) from error
    if readable or pgconn.status != 0:  # 0: CONNECTION_OK
        raise exc.DisconnectionError("the server closed this connection")


def make_engine(url: str, pool: PoolSizes | None = None) -> Engine:
    """An engine for ``url``: SQLite gets WAL and foreign keys, PostgreSQL psycopg 3 with a
    pool of ``pool`` (default :class:`PoolSizes`), checked for closed connections at
    checkout without a round trip (:func:`_alive_at_checkout`).

    Errors never carry the statement's bound values (``hide_parameters``): they are user
    content (subjects, identifiers, messages) and errors end up in the server log.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        msg = f"cannot parse database URL {url!r}: {exc}"
        raise ConfigurationError(msg) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _prepare_sqlite_file(url)
        gate = WriteGate()
        connect_args = {"check_same_thread": False, "factory": gate.connection_class()}
        engine = create_engine(url, connect_args=connect_args, hide_parameters=True)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", functools.partial(_on_sqlite_begin, gate))
        gated(engine, gate)
        return engine
    if backend == "postgresql":
        if parsed.drivername in {"postgresql", "postgres"}:
            parsed = parsed.set(drivername="postgresql+psycopg")
        sizes = pool or PoolSizes()
        engine = create_engine(
            parsed,
            pool_size=sizes.size,
            max_overflow=sizes.overflow,
            pool_recycle=sizes.recycle or -1,
            hide_parameters=True,
        )
        event.listen(engine, "checkout", _alive_at_checkout)
        event.listen(engine, "begin", _on_postgresql_begin)
        event.listen(engine, "handle_error", _without_details)
        return engine
    msg = f"unsupported database {backend!r}: use sqlite:// or postgresql://"
    raise ConfigurationError(msg)


class Database:
    """An engine and the factory for sessions bound to it (or to one connection, in tests)."""

    def __init__(self, engine: Engine, bind: Engine | Connection | None = None) -> None:
        self.engine = engine
        # What every session carries in ``Session.info`` (e.g. the record log's digest key,
        # put here by whoever opens the database with the settings).
        self.info: dict[str, Any] = {}
        options: dict[str, Any] = {"expire_on_commit": False, "info": self.info}
        if isinstance(bind, Connection):
            options["join_transaction_mode"] = "create_savepoint"
        self._sessions: sessionmaker[Session] = sessionmaker(bind=bind or engine, **options)

    @classmethod
    def from_url(cls, url: str, pool: PoolSizes | None = None) -> Database:
        return cls(make_engine(url, pool))

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database the settings name, pooled as they say."""
        return cls.from_url(settings.database_url, PoolSizes.of(settings))

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self._sessions() as session, read_transaction(session):
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Run a use case in a transaction on ``session``.

    Opens (and commits or rolls back) a transaction when none is open; inside a
    caller's transaction it joins it, so one use case can call another and both
    commit or roll back together.
    """
    if session.in_transaction():
        yield session
        return
    with session.begin():
        yield session


@contextmanager
def read_transaction(session: Session) -> Iterator[Session]:
    """Run a use case that only reads, in a read-only transaction on ``session``.

    On SQLite the transaction is deferred: it reads a snapshot and never takes the write
    lock, so a long read (``log verify``, an export) makes no writer wait. Any write in it
    fails (see the module's docstring). Inside a caller's transaction it joins that one.
    """
    if session.in_transaction():
        yield session
        return
    with session.begin():
        # A test's session joins an outer transaction with a savepoint, so the transaction
        # has begun already: there the flags are set on the shared connection for the
        # duration (SQLite), or only the session's own check applies (PostgreSQL).
        shared = isinstance(session.get_bind(), Connection)
        connection = session.connection(execution_options=None if shared else {READ_ONLY: True})
        sqlite = connection.dialect.name == "sqlite"
        if shared and sqlite:
            _query_only(connection, True)
        session.info[READ_ONLY] = True
        try:
            yield session
        finally:
            session.info.pop(READ_ONLY, None)
            if shared and sqlite:
                _query_only(connection, False)


def _refuse_flush(session: Session, _context: object, _instances: object) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlyTransaction("a read transaction cannot write (flush refused)")


def _refuse_writes(state: ORMExecuteState) -> None:
    writes = state.is_insert or state.is_update or state.is_delete
    if writes and state.session.info.get(READ_ONLY):
        raise ReadOnlyTransaction("a read transaction cannot write (statement refused)")


event.listen(Session, "before_flush", _refuse_flush)
event.listen(Session, "do_orm_execute", _refuse_writes)
