"""Engines and sessions.

:class:`Database` owns an engine and a session factory.  Services receive a
:class:`~sqlalchemy.orm.Session` from the adapter (HTTP request, CLI command) and open
their transactions on it; tests hand the factory a connection inside an outer
transaction so each test is rolled back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker

from trustdesk.errors import ConfigurationError


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
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN (waiting up to busy_timeout) rather than at
    # the first write, where a stale read snapshot would fail at once with SQLITE_BUSY.
    # SQLite has one writer at a time anyway; this makes concurrent use cases queue.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


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


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite gets WAL and foreign keys, PostgreSQL psycopg 3.

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
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.drivername in {"postgresql", "postgres"}:
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
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
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self._sessions() as session:
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
