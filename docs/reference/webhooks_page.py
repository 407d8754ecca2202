"""``webhooks.md``'s generated parts: the event's fields, an example body, the headers.

The fields come from a live event: :meth:`trustdesk.cases.actions.ActionView.event` is called
on a sample action, and every field it holds must have a line in :data:`FIELDS` (a field added
to the event, or one removed, stops the generator until this page says what it means).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from typing import Any

from docs.reference.markdown import code, table
from docs.reference.settings_page import MissingDescription
from trustdesk.cases import standard_webhooks, webhooks
from trustdesk.cases.actions import ActionView
from trustdesk.cases.models import Action, ActionStatus
from trustdesk.policy.vocabulary import ActionKind

FIELDS: Mapping[str, tuple[str, str]] = {
    "id": ("string (uuid)", "The event's id: the action's id."),
    "idempotency_key": (
        "string (uuid)",
        "The same id again: handle an event at most once per key (retries resend it).",
    ),
    "type": ("string", f"Always {code(webhooks.EVENT_TYPE)}."),
    "created_at": ("string (date-time)", "When the action was issued (ISO 8601, UTC)."),
    "service_id": ("string (uuid)", "The service that must act (yours)."),
    "action": ("object", "What to do."),
    "action.id": ("string (uuid)", "The action's id (acknowledge it with this)."),
    "action.kind": ("string", "What to do; see the action kinds below."),
    "action.content_id": (
        "string or null",
        "Your id of the content item concerned (null for an action on an account).",
    ),
    "action.subject": ("string or null", "Your id of the account concerned, if any."),
    "action.until": (
        "string (date-time) or null",
        "For a time-limited action (a suspension): when it ends; null if it does not.",
    ),
    "decision": ("object", "The decision the action carries out."),
    "decision.id": ("string (uuid)", "The decision's id."),
    "decision.puid": (
        "string",
        "The decision's platform unique identifier (as in its statement of reasons).",
    ),
    "decision.category": (
        "string",
        "The category decided on, as `pack:category` "
        "(`eu-dsa:STATEMENT_CATEGORY_SCAMS_AND_FRAUD`).",
    ),
    "decision.appeal_of": (
        "string (uuid) or null",
        "For a decision on an appeal: the decision appealed against (a `restore` undoes it).",
    ),
}
_MOMENT = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


def sample_event() -> dict[str, Any]:
    """The event of a fixed sample action (a 30-day suspension of posting)."""
    action = Action(
        id=uuid.UUID(int=1),
        decision_id=uuid.UUID(int=2),
        service_id=uuid.UUID(int=3),
        kind=ActionKind.SUSPEND_UPDATES.value,
        content_id="msg-8812",
        subject="user-4417",
        until=_MOMENT + dt.timedelta(days=30),
        status=ActionStatus.PENDING,
        created_at=_MOMENT,
    )
    view = ActionView(
        action=action,
        puid="td-2026-0001",
        category="eu-dsa:STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        appeal_of=None,
        case_id=uuid.UUID(int=5),
        case_opened_at=_MOMENT,
    )
    return view.event()


def _paths(value: Mapping[str, Any], prefix: str = "") -> list[str]:
    found = []
    for key, inner in value.items():
        found.append(prefix + key)
        if isinstance(inner, Mapping):
            found += _paths(inner, prefix + key + ".")
    return found


def render_fields() -> str:
    """The table of the event's fields, in the order the event holds them."""
    paths = _paths(sample_event())
    undocumented = [p for p in paths if p not in FIELDS]
    stale = [p for p in FIELDS if p not in paths]
    if undocumented or stale:
        msg = (
            f"the action.issued event's fields changed (new: {undocumented}, gone: {stale}); "
            "describe them in docs/reference/webhooks_page.py FIELDS"
        )
        raise MissingDescription(msg)
    rows = [[code(path), *FIELDS[path]] for path in paths]
    return "\n".join(table(["field", "type", "meaning"], rows))


def render_example() -> str:
    body = json.dumps(sample_event(), ensure_ascii=False, indent=2, sort_keys=True)
    return "```json\n" + body + "\n```"


def render_headers() -> str:
    sw = standard_webhooks
    rows = [
        ["`Content-Type`", "both", "`application/json`"],
        [code(webhooks.IDEMPOTENCY_HEADER), "both", "The action's id (the event's `id`)."],
        [code(webhooks.EVENT_ID_HEADER), code(sw.Scheme.TRUSTDESK), "The event's id, again."],
        [
            code(webhooks.SIGNATURE_HEADER),
            code(sw.Scheme.TRUSTDESK),
            "`t=<unix seconds>,v1=<hex HMAC-SHA256>`: fresh on every attempt.",
        ],
        [code(sw.ID_HEADER), code(sw.Scheme.STANDARD), "The event's id, again."],
        [code(sw.TIMESTAMP_HEADER), code(sw.Scheme.STANDARD), "Unix seconds of the attempt."],
        [
            code(sw.SIGNATURE_HEADER),
            code(sw.Scheme.STANDARD),
            "`v1,<base64 HMAC-SHA256>` over `<webhook-id>.<webhook-timestamp>.<body>`: fresh "
            "on every attempt.",
        ],
    ]
    facts = [
        f"- `{sw.Scheme.TRUSTDESK}` secrets start with {code(webhooks.SECRET_PREFIX)}; the "
        "whole string, prefix included, is the HMAC key (its UTF-8 bytes).",
        f"- `{sw.Scheme.STANDARD}` secrets are {code(webhooks.SECRET_PREFIX)} and the base64 "
        f"of {sw.SECRET_BYTES} random bytes, which are the HMAC key (as the specification's "
        "libraries take it).",
        f"- A signature more than {webhooks.TOLERANCE_SECONDS} seconds away from the "
        "receiver's clock is refused as a replay.",
        f"- A webhook URL is at most {webhooks.MAX_URL_LENGTH} characters.",
    ]
    return "\n".join([*table(["header", "scheme", "value"], rows), "", *facts])


def render_kinds() -> str:
    return "\n".join(f"- {code(kind.value)}" for kind in ActionKind)
