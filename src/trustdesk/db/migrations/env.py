"""Alembic environment: runs on the engine or connection handed in by trustdesk.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine

from trustdesk.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    bind = context.config.attributes.get("connection")
    if isinstance(bind, Connection):
        _run(bind)
    elif isinstance(bind, Engine):
        with bind.begin() as connection:
            _run(connection)
    else:
        msg = "trustdesk migrations run through trustdesk.db.migrate, which passes a connection"
        raise RuntimeError(msg)


if context.is_offline_mode():
    msg = "offline (SQL script) migrations are not supported"
    raise RuntimeError(msg)
run_migrations_online()
