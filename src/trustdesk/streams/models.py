"""Tables of the streams slice: the receipt of every event that was acted on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from trustdesk.db.base import Base, PortableJSON, utcnow


class StreamReceipt(Base):
    """An event of a stream that screening stored (and so acted on), with the verdict it got.

    Written in the transaction that stored the item: a redelivered event finds it and gets
    the same verdict again, without being screened or acted on a second time. Clean events
    store nothing, so they have no receipt. Purged after ``stream_receipt_days``.
    """

    __tablename__ = "stream_receipts"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. redis:posts
    content_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"))
    verdict: Mapped[dict[str, Any]] = mapped_column(PortableJSON)  # the answer, as emitted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_stream_receipts_created_at", "created_at"),
        Index("ix_stream_receipts_item_id", "item_id"),
    )
