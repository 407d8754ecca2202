"""The transparency report: what was noticed, decided, appealed, disclosed and found.

Figures come from the database for a half-open window ``[start, end)`` (dates, UTC), for
one service or all; the tests cross-check them against the record log. The report renders
as JSON, as CSV (one ``section,key,value`` row per figure) or as an HTML page with inline
SVG bar charts, no outside hosts, and a print stylesheet. Generating one is logged
(``compliance:report:generated`` with the digest of its JSON), which is what the
transparency-report obligation's status reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from trustdesk.cases import stats as case_stats
from trustdesk.compliance import residency
from trustdesk.compliance.service import get_service, list_services
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import InvalidInput
from trustdesk.identity import disclosure
from trustdesk.identity.vocabulary import DisclosureStatus
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.screening import service as screening

MAX_DAYS = 3660
_APPROVED = (DisclosureStatus.APPROVED, DisclosureStatus.REVEALED, DisclosureStatus.EXPIRED)


class InvalidPeriod(InvalidInput):
    code = "invalid_period"


@dataclass(frozen=True, slots=True)
class Report:
    start: dt.date
    end: dt.date  # exclusive
    services: tuple[str, ...]
    screening: dict[str, int]
    cases: case_stats.CaseFigures
    disclosures: dict[str, int]
    residency: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "services": list(self.services),
            "screening": self.screening,
            "notices": {
                "by_category": self.cases.notices_by_category,
                "by_source": self.cases.notices_by_source,
            },
            "decisions": {
                "total": self.cases.decisions,
                "by_action": self.cases.decisions_by_action,
                "by_basis": self.cases.decisions_by_basis,
                "automated_detection": self.cases.automated_detection,
                "automated_decision": self.cases.automated_decision,
                "median_notice_to_decision_hours": self.cases.median_notice_to_decision_hours,
                "median_notice_to_action_hours": self.cases.median_notice_to_action_hours,
            },
            "actions_by_status": self.cases.actions_by_status,
            "appeals": {
                "by_outcome": self.cases.appeals_by_outcome,
                "reversals": self.cases.reversals,
            },
            "strikes": {"strikes": self.cases.strikes, "suspensions": self.cases.suspensions},
            "disclosures": self.disclosures,
            "residency_findings": self.residency,
        }


def _instant(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def build(
    session: Session,
    start: dt.date,
    end: dt.date,
    service_id: uuid.UUID | None = None,
) -> Report:
    """The figures for ``[start, end)`` (dates), for one service or all."""
    if end <= start or (end - start).days > MAX_DAYS:
        raise InvalidPeriod(f"a report covers 1 to {MAX_DAYS} days, from a date to a later one")
    since, until = _instant(start), _instant(end)
    with read_transaction(session):
        services = [get_service(session, service_id)] if service_id else list_services(session)
        findings: dict[str, int] = {"opened": 0, "resolved": 0, "open_now": 0}
        for service in services:
            for finding in residency.list_findings(session, service.id):
                if since <= finding.opened_at < until:
                    findings["opened"] += 1
                if finding.resolved_at is not None and since <= finding.resolved_at < until:
                    findings["resolved"] += 1
                if finding.resolved_at is None:
                    findings["open_now"] += 1
    requested = disclosure.counts(session, service_id, start=since, end=until)
    disclosures = {
        "received": sum(requested.values()),
        "approved": sum(requested.get(s, 0) for s in _APPROVED),
        "rejected": requested.get(DisclosureStatus.REJECTED, 0),
        "pending": requested.get(DisclosureStatus.PENDING, 0),
        "revealed": requested.get(DisclosureStatus.REVEALED, 0),
    }
    return Report(
        start,
        end,
        tuple(s.name for s in services),
        screening.counts(session, service_id, first_day=start, last_day=end - dt.timedelta(days=1)),
        case_stats.figures(session, since, until, service_id),
        disclosures,
        findings,
    )


def generate(
    session: Session,
    start: dt.date,
    end: dt.date,
    service_id: uuid.UUID | None = None,
) -> Report:
    """The use case: build the report for ``[start, end)`` (one service or all) and log that
    it was generated (committed), as the API, the console and the CLI ask for it."""
    report = build(session, start, end, service_id)
    record_generated(session, report, service_id)
    return report


def record_generated(session: Session, report: Report, service_id: uuid.UUID | None) -> str:
    """Log that the report was generated; returns the SHA-256 of its JSON."""
    digest = hashlib.sha256(to_json(report).encode("utf-8")).hexdigest()
    with transaction(session):
        records.append(
            session,
            EventType.COMPLIANCE_REPORT_GENERATED,
            service_id=service_id,
            data={
                "from": report.start.isoformat(),
                "to": report.end.isoformat(),
                "digest": digest,
            },
        )
    return digest


def to_json(report: Report) -> str:
    return json.dumps(report.as_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _rows(section: str, value: Any) -> list[tuple[str, str, str]]:
    """``(section, key, value)`` for every leaf under ``value``; keys are never re-split, so
    a key with a dot in it (``cn-xj-2014:art6.10``) stays one key."""
    rows: list[tuple[str, str, str]] = []
    for key, inner in sorted(value.items()):
        if isinstance(inner, dict):
            rows.extend(_rows(f"{section}.{key}" if section else str(key), inner))
        elif isinstance(inner, list):
            rows.append((section, str(key), ";".join(map(str, inner))))
        else:
            rows.append((section, str(key), "" if inner is None else str(inner)))
    return rows


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "key", "value"])
    for row in _rows("", report.as_json()):
        writer.writerow([_cell(cell) for cell in row])
    return buffer.getvalue()


def _cell(value: str) -> str:
    """A spreadsheet would run a cell starting with = + - @ as a formula: quote it."""
    risky = value[:1] in {"=", "+", "-", "@", "\t", "\r"} and not _number(value)
    return "'" + value if risky else value


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("trustdesk.compliance", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    width: float


def bars(ordered: Sequence[tuple[str, int]], width: float) -> list[Bar]:
    """One chart's bars in the order given, the longest ``width`` long."""
    top = max((value for _, value in ordered), default=0) or 1
    return [Bar(label, value, round(width * value / top, 1)) for label, value in ordered]


def _bars(counts: dict[str, int]) -> list[Bar]:
    return bars(sorted(counts.items(), key=lambda kv: -kv[1]), 300)


def to_html(report: Report) -> str:
    data = report.as_json()
    charts = {
        "Notices by category": report.cases.notices_by_category,
        "Notices by source": report.cases.notices_by_source,
        "Decisions by action": report.cases.decisions_by_action,
        "Decisions by basis": report.cases.decisions_by_basis,
        "Automated detection": report.cases.automated_detection,
        "Automated decision": report.cases.automated_decision,
        "Appeals by outcome": report.cases.appeals_by_outcome,
        "Screening verdicts": report.screening,
        "Disclosure requests": report.disclosures,
        "Residency findings": report.residency,
    }
    return (
        _environment()
        .get_template("transparency.html.j2")
        .render(
            report=data,
            charts={title: _bars(counts) for title, counts in charts.items()},
            figures=asdict(report.cases),
        )
    )
