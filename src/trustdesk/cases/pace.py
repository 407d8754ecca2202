"""A reviewer's pace: what the desk shows them so that nobody reviews harmful content for
hours without a break."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.cases.models import Decision
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction


@dataclass(frozen=True, slots=True)
class ReviewerPace:
    """How many decisions (appeals' included) one reviewer made lately."""

    last_hour: int
    today: int  # since midnight UTC


def reviewer_pace(
    session: Session, user_id: uuid.UUID, *, now: datetime | None = None
) -> ReviewerPace:
    moment = now or utcnow()
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    hour_ago = moment - timedelta(hours=1)
    query = select(
        func.count().filter(Decision.decided_at >= hour_ago),
        func.count().filter(Decision.decided_at >= midnight),
    ).where(
        Decision.decided_by == user_id,
        Decision.decided_at >= min(midnight, hour_ago),
        Decision.decided_at <= moment,
    )
    with transaction(session):
        last_hour, today = session.execute(query).one()
    return ReviewerPace(last_hour=int(last_hour), today=int(today))
