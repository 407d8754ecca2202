"""The record log's perfect-subtree hashes, read from the database for proofs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from trustdesk.errors import TrustdeskError
from trustdesk.records.models import LogNode


class LogCorrupted(TrustdeskError):
    """The stored log contradicts itself (a node is missing); run ``trustdesk log verify``."""

    code = "log_corrupted"
    title = "Record log corrupted"


class DatabaseSubtreeStore:
    """:class:`trustdesk.records.merkle.SubtreeStore` over the ``log_nodes`` table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def subtree_hashes(self, addresses: Sequence[tuple[int, int]]) -> Sequence[bytes]:
        if not addresses:
            return []
        # OR of (level, index) pairs, not a row-value IN: SQLite scans the table for the
        # latter but answers the former with one primary-key search per pair.
        wanted = or_(*(and_(LogNode.level == lv, LogNode.index == ix) for lv, ix in addresses))
        rows = self.session.execute(
            select(LogNode.level, LogNode.index, LogNode.hash).where(wanted)
        ).all()
        found = {(level, index): hash_ for level, index, hash_ in rows}
        missing = [address for address in addresses if address not in found]
        if missing:
            level, index = missing[0]
            msg = f"the log has no hash for subtree (level {level}, index {index})"
            raise LogCorrupted(msg)
        return [found[address] for address in addresses]
