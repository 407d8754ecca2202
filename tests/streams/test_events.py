"""Reading an event: the body of POST /v1/screen, refused with a stable code and a reason
that names the field, never stopping anything else."""

from __future__ import annotations

import json

import pytest

from trustdesk.streams.events import Event, Refusal, read_event

from streamfeed import event

LIMIT = 4096


def test_an_event_is_the_body_of_post_v1_screen() -> None:
    read = read_event(event("post-1", "你好", "acct-7", context={"room": "a"}), LIMIT)
    assert isinstance(read, Event)
    assert (read.item.content_id, read.item.text, read.item.subject) == ("post-1", "你好", "acct-7")
    assert read.context == {"room": "a"}


@pytest.mark.parametrize(
    ("payload", "code", "names"),
    [
        (None, "missing_event", "'event' field"),
        (b"not json at all", "not_json", "not JSON"),
        (b"\xff\xfe{", "not_json", "not JSON"),
        (b'{"content": {"id": "a\\ud800", "text": "x"}}', "not_json", "not JSON"),
        (b"[1, 2]", "invalid_event", "event: Input should be an object"),
        (b"{}", "invalid_event", "content: Field required"),
        (event("post-1", None), "invalid_event", "content.text"),
        (event(17, "hi"), "invalid_event", "content.id: Input should be a valid string"),
        (event("", "hi"), "invalid_event", "content.id"),
        (event("x" * 201, "hi"), "invalid_event", "content.id"),
        (event("post\u202e1", "hi"), "invalid_event", "content.id: control, format"),
        (event("post\x001", "hi"), "invalid_event", "content.id: control, format"),
        (event("post-1", "hi", "acct\x07"), "invalid_event", "subject: control"),
        (event("post-1", "hi", context={"a": ["\x00"]}), "invalid_event", "context.a.0: NUL"),
        (
            b'{"content": {"id": "p", "text": "t", "kind": "video"}}',
            "invalid_event",
            "content.text",  # (a video is sent as hashes)
        ),
        (event("post-1", "hi", extra=1), "invalid_event", "extra"),
        (event("post-1", "长" * 2000), "event_too_large", f"over {LIMIT} bytes"),
    ],
    ids=lambda value: repr(value)[:40] if isinstance(value, bytes) else None,
)
def test_a_malformed_event_is_refused_with_a_reason(
    payload: bytes | None, code: str, names: str
) -> None:
    read = read_event(payload, LIMIT)
    assert isinstance(read, Refusal), read
    assert read.code == code
    assert names in read.reason


def test_a_refusal_names_the_fields_but_never_echoes_their_values() -> None:
    secret = "private-" + "z" * 300
    read = read_event(json.dumps({"content": {"id": secret, "text": 5}}).encode(), LIMIT)
    assert isinstance(read, Refusal)
    assert "content.id" in read.reason and "content.text" in read.reason
    assert secret not in read.reason


def test_nul_in_the_text_becomes_a_replacement_character_as_over_http() -> None:
    read = read_event(event("post-1", "a\x00b"), LIMIT)
    assert isinstance(read, Event)
    assert read.item.text == "a\ufffdb"
