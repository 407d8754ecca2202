"""Shapes the migrations repeat, so that each version says only what is its own.

Every helper builds exactly the DDL that Alembic's generated code spelled out, names and
all (``op.f``: the name as written, no naming convention applied), so the migrated schema
still matches the models (``tests/db/test_storage.py`` runs ``alembic check`` and the
migrations down and up). Only migrations call these: ``op`` works inside a migration only.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def json_type() -> sa.types.TypeEngine[Any]:
    """The models' ``PortableJSON``: JSON, JSONB on PostgreSQL."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def references(
    table: str, column: str, target: str, *, cascade: bool = True
) -> sa.ForeignKeyConstraint:
    """``table.column`` refers to ``target.id`` (deleted with it unless ``cascade`` is off),
    named ``fk_<table>_<column>_<target>``."""
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE" if cascade else None,
    )


def create_link_table(
    table: str, owner: str, owner_table: str, value: str, value_type: sa.types.TypeEngine[Any]
) -> None:
    """A table of ``(owner, value)`` pairs: the owner's id (deleted with it) and one value,
    the pair its primary key (a service's types, a server's regions, ...)."""
    op.create_table(
        table,
        sa.Column(owner, sa.Uuid(), nullable=False),
        sa.Column(value, value_type, nullable=False),
        references(table, owner, owner_table),
        sa.PrimaryKeyConstraint(owner, value, name=op.f(f"pk_{table}")),
    )


def drop_table(table: str, *indexes: str) -> None:
    """Drop ``indexes`` (names as the upgrade wrote them, ``op.f`` or not), then ``table``."""
    if indexes:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(index)
    op.drop_table(table)


def index_columns(table: str, *columns: str) -> None:
    """An index on each of ``columns`` alone, named ``ix_<table>_<column>``."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(op.f(f"ix_{table}_{column}"), [column], unique=False)
