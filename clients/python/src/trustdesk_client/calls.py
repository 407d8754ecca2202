"""The API's operations as request descriptions: what to send, and how to read the answer.

Each function here builds a :class:`Call` and does no I/O; :class:`~trustdesk_client.Client`
and :class:`~trustdesk_client.AsyncClient` send the same calls (one over a blocking
connection, one over an asynchronous one), so every operation is written once. A call says
whether it is safe to send again (``idempotent``): only those are retried after an answer
that may have come from a request that did act.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from trustdesk_client._fields import Json, text
from trustdesk_client.events import Action
from trustdesk_client.models import (
    Flagger,
    Identity,
    ItemError,
    NoticeOutcome,
    NoticeReceipt,
    ScreenItem,
    ScreenResult,
    Webhook,
    WebhookSecret,
)

T = TypeVar("T")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and how to read its answer's JSON (None for an empty answer).

    ``authenticated``: send the client's API key (notices take none, or a flagger's).
    ``absent``: a problem code that means "nothing there", read as None instead of raised.
    """

    method: str
    path: str
    read: Callable[[Any], T]
    body: Any = None
    params: Mapping[str, str | int] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    authenticated: bool = True
    safe_to_repeat: bool = False
    absent: str | None = None

    @property
    def idempotent(self) -> bool:
        return self.safe_to_repeat or self.method in IDEMPOTENT_METHODS


@dataclass(frozen=True, slots=True)
class Service:
    """The calling service: its id (a notice names it), name, types and policy packs."""

    id: str
    name: str
    types: tuple[str, ...]
    packs: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Json) -> Service:
        return cls(
            id=text(data, "id"),
            name=text(data, "name"),
            types=tuple(str(t) for t in data["types"]),
            packs=tuple(str(p) for p in data["packs"]),
        )


def _segment(value: str) -> str:
    """A path segment: every reserved character escaped (a subject may hold ``/`` or ``?``)."""
    return quote(value, safe="")


def _nothing(_data: Any) -> None:
    return None


def _list(read: Callable[[Json], T]) -> Callable[[Any], list[T]]:
    def reading(data: Any) -> list[T]:
        if not isinstance(data, list):
            raise TypeError("the answer is not a list")
        return [read(item) for item in data]

    return reading


def _content(content_id: str, text_: str) -> dict[str, Any]:
    return {"id": content_id, "kind": "text", "text": text_}


def _screen_body(item: ScreenItem) -> dict[str, Any]:
    body: dict[str, Any] = {"content": _content(item.content_id, item.text)}
    if item.subject is not None:
        body["subject"] = item.subject
    if item.context is not None:
        body["context"] = dict(item.context)
    return body


def service() -> Call[Service]:
    """The calling service (``GET /v1/service``)."""
    return Call("GET", "/v1/service", Service.from_json)


def screen(
    content_id: str,
    text: str,
    subject: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> Call[ScreenResult]:
    """Screen one text with the service's active rule set (``POST /v1/screen``).

    ``content_id`` is your id of the item, ``subject`` your id of its author's account
    (packs that gate on identity block an unregistered subject), ``context`` up to 50
    JSON values kept with a stored item."""
    body = _screen_body(ScreenItem(content_id, text, subject, context))
    return Call("POST", "/v1/screen", ScreenResult.from_json, body)


def _result_or_error(data: Json) -> ScreenResult | ItemError:
    return ScreenResult.from_json(data) if "verdict" in data else ItemError.from_json(data)


def _batch_results(data: Any) -> list[ScreenResult | ItemError]:
    if not isinstance(data, Mapping):
        raise TypeError("the answer is not an object")
    return _list(_result_or_error)(data["results"])


def screen_batch(items: Iterable[ScreenItem]) -> Call[list[ScreenResult | ItemError]]:
    """Screen up to 1,000 items (``POST /v1/screen/batch``): one result per item, in order,
    each a :class:`ScreenResult` or, for an item that was not screened, an
    :class:`ItemError` with its code (a bad item fails alone)."""
    body = {"items": [_screen_body(item) for item in items]}
    return Call("POST", "/v1/screen/batch", _batch_results, body)


def register_identity(
    subject: str, *, kind: str, name: str, document_type: str, document_number: str
) -> Call[Identity]:
    """Register a subject's real identity (``POST /v1/identities``): verified, or rejected
    with a reason code (``Identity.reason``). ``kind`` is ``individual`` or ``organisation``;
    ``document_type`` one such as ``cn.ric``, ``cn.uscc``, ``hk.hkid`` or ``mrz.td3``."""
    body = {
        "subject": subject,
        "kind": kind,
        "name": name,
        "document": {"type": document_type, "number": document_number},
    }
    return Call("POST", "/v1/identities", Identity.from_json, body)


def get_identity(subject: str) -> Call[Identity]:
    """The status of a subject's identity, never its data."""
    return Call("GET", f"/v1/identities/{_segment(subject)}", Identity.from_json)


def delete_identity(subject: str) -> Call[Identity]:
    """The account closed: its identity is erased once the retention period allows."""
    return Call("DELETE", f"/v1/identities/{_segment(subject)}", Identity.from_json)


def submit_notice(
    service_id: str,
    category: str,
    explanation: str,
    *,
    content_id: str | None = None,
    url: str | None = None,
    notifier_name: str | None = None,
    notifier_email: str | None = None,
    language: str | None = None,
    flagger_key: str | None = None,
) -> Call[NoticeReceipt]:
    """Report content (``POST /v1/notices``): anyone may, without an account, so the
    service's API key is never sent; a trusted flagger sends its ``tdf_`` key instead.
    Sending it states the notifier's good faith (the notice is accurate and complete).
    The receipt's ``token`` reads the outcome with :func:`notice_outcome`."""
    body: dict[str, Any] = {
        "service_id": service_id,
        "category": category,
        "explanation": explanation,
        "good_faith": True,
    }
    optional = {"content_id": content_id, "url": url, "language": language}
    body.update({k: v for k, v in optional.items() if v is not None})
    if notifier_name is not None or notifier_email is not None:
        body["notifier"] = {"name": notifier_name, "email": notifier_email}
    headers = {"Authorization": f"Bearer {flagger_key}"} if flagger_key else {}
    return Call(
        "POST", "/v1/notices", NoticeReceipt.from_json, body, headers=headers, authenticated=False
    )


def notice_outcome(notice_id: str, token: str) -> Call[NoticeOutcome]:
    """A notice's outcome, for its notifier (the receipt's token, as ``X-Notice-Token``)."""
    path = f"/v1/notices/{_segment(notice_id)}"
    headers = {"X-Notice-Token": token}
    return Call("GET", path, NoticeOutcome.from_json, headers=headers, authenticated=False)


def register_flagger(name: str) -> Call[Flagger]:
    """Register a trusted flagger of this service; its key is shown only this once."""
    return Call("POST", "/v1/flaggers", Flagger.from_json, {"name": name})


def actions(
    status: str | None = None, *, after: str | None = None, limit: int = 100
) -> Call[list[Action]]:
    """A page of actions, oldest first (``GET /v1/actions``): at most ``limit`` (1 to
    500), after the action id ``after`` (the last of the previous page). ``status`` is
    ``pending``, ``delivered``, ``acknowledged`` or ``dead``."""
    params: dict[str, str | int] = {"limit": limit}
    if status is not None:
        params["status"] = status
    if after is not None:
        params["after"] = after
    return Call("GET", "/v1/actions", _list(Action.from_json), params=params)


def ack(action_id: str) -> Call[Action]:
    """Confirm the service carried out an action (idempotent: safe to send again)."""
    path = f"/v1/actions/{_segment(action_id)}/ack"
    return Call("POST", path, Action.from_json, safe_to_repeat=True)


def _webhook_or_none(data: Any) -> Webhook | None:
    return None if data is None else Webhook.from_json(data)


def get_webhook() -> Call[Webhook | None]:
    """The webhook's URL and when it was set (never the secret); None without one."""
    return Call("GET", "/v1/webhook", _webhook_or_none, absent="webhook_not_found")


def set_webhook(url: str) -> Call[WebhookSecret]:
    """Set the webhook URL; the answer holds a new signing secret, shown only this once."""
    return Call("PUT", "/v1/webhook", WebhookSecret.from_json, {"url": url})


def delete_webhook() -> Call[None]:
    """Stop delivery: actions then wait for polling."""
    return Call("DELETE", "/v1/webhook", _nothing)


OPERATIONS: tuple[Callable[..., Call[Any]], ...] = (
    service,
    screen,
    screen_batch,
    register_identity,
    get_identity,
    delete_identity,
    submit_notice,
    notice_outcome,
    register_flagger,
    actions,
    ack,
    get_webhook,
    set_webhook,
    delete_webhook,
)
