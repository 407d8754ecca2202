"""Rows that hold an envelope-sealed value: their columns, and moving them to a new KEK.

A table that mixes in :class:`SealedColumns` stores one :class:`~trustdesk.crypto.envelope.
Sealed` per row; all four columns None means the value was crypto-shredded. The functions
here serve ``trustdesk vault rotate`` for every such table alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import LargeBinary, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from trustdesk.crypto.envelope import DecryptionFailed, Sealed, rewrap
from trustdesk.crypto.keyring import KeyRing
from trustdesk.db.engine import transaction

REWRAP_BATCH = 500
Progress = Callable[[int], None]
Rewrap = Callable[[Session, KeyRing, Progress | None], int]  # one table's rewrap, rows moved


class SealedColumns:
    """Mixin: a sealed value (data key wrapped by the KEK ``kek_id``) in four columns."""

    id: Mapped[uuid.UUID]
    kek_id: Mapped[str | None] = mapped_column(String(64))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)

    def sealed(self) -> Sealed | None:
        """The stored value, or None if it was shredded (or never stored)."""
        if self.kek_id is None or self.wrapped_key is None or self.nonce is None:
            return None
        return Sealed(self.kek_id, self.wrapped_key, self.nonce, self.ciphertext or b"")

    def store(self, sealed: Sealed | None) -> None:
        """Keep ``sealed``; None destroys the wrapped key and ciphertext (crypto-shredding)."""
        self.kek_id = sealed.kek_id if sealed else None
        self.wrapped_key = sealed.wrapped_key if sealed else None
        self.nonce = sealed.nonce if sealed else None
        self.ciphertext = sealed.ciphertext if sealed else None


def key_usage(session: Session, table: type[SealedColumns]) -> dict[str, int]:
    """How many of ``table``'s rows each KEK wraps."""
    column: Any = table.kek_id
    with transaction(session):
        rows = session.execute(
            select(column, func.count()).where(column.is_not(None)).group_by(column)
        ).all()
    return {str(kek_id): int(count) for kek_id, count in rows}


def _stale(
    session: Session, table: type[SealedColumns], current: str
) -> Iterator[list[tuple[uuid.UUID, str, bytes]]]:
    ids: Any = table.id
    kek: Any = table.kek_id
    wrapped: Any = table.wrapped_key
    while True:
        with transaction(session):
            batch = session.execute(
                select(ids, kek, wrapped)
                .where(kek.is_not(None), kek != current)
                .limit(REWRAP_BATCH)
            ).all()
        if not batch:
            return
        yield [(row_id, str(kek_id), bytes(key or b"")) for row_id, kek_id, key in batch]


def rewrap_table(
    session: Session, table: type[SealedColumns], keyring: KeyRing, progress: Progress | None = None
) -> int:
    """Rewrap every data key of ``table`` not under the current KEK; returns how many.

    Works in batches, each its own short transaction, so a running server keeps reading
    and writing meanwhile: a row opens under its old KEK until its batch commits, under the
    new one after. Ciphertexts are not touched. A row changed meanwhile (shredded, say) is
    left alone by the compare-and-set on its old wrapped key.
    """
    current = keyring.current_id()
    done = 0
    ids: Any = table.id
    wrapped_column: Any = table.wrapped_key
    for batch in _stale(session, table, current):
        with transaction(session):
            for row_id, kek_id, wrapped in batch:
                try:
                    moved = rewrap(Sealed(kek_id, wrapped, b"", b""), keyring)
                except DecryptionFailed as exc:
                    name = getattr(table, "__tablename__", table.__name__)
                    msg = f"{name} row {row_id}: {exc}; later rows were not moved"
                    raise DecryptionFailed(msg) from exc
                session.execute(
                    update(table)
                    .where(ids == row_id, wrapped_column == wrapped)
                    .values(kek_id=moved.kek_id, wrapped_key=moved.wrapped_key)
                    .execution_options(synchronize_session=False)
                )
        done += len(batch)
        if progress is not None:
            progress(len(batch))
    return done
