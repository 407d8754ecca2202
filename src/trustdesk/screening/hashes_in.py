"""Content sent as precomputed hashes only (``kind`` ``image``, ``video`` or ``file``): the
checks that make it a :class:`~trustdesk.screening.service.ContentIn`.

    item = content_in(body.content, body.subject)   # raises a stable-coded InvalidInput

A provider that must not send the media itself sends its hashes by signal name
(``{"image.pdq": "<64 hex>", "file.sha256": "<64 hex>"}``). Each name must be a signal
that reads the kind (:data:`~trustdesk.screening.bank_findings.SIGNALS_OF`; else
``unknown_signal`` or ``kind_not_read``), each value must pass the signal's own validation
(its own code: ``invalid_pdq_hash``, ``invalid_hash``), and at
least one is required (``no_hashes``). A text has no hashes and other kinds have no text
(``invalid_content``). The item is stored like a text (its kind recorded, its text empty);
its hashes are screened, never stored (its findings name the bank entries).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from trustdesk.errors import InvalidInput
from trustdesk.screening import service
from trustdesk.screening.bank_findings import SIGNALS_OF
from trustdesk.signals import registry
from trustdesk.signals.contract import Content, Kind, KindNotRead

MAX_HASHES = 4  # names per item (the signals a kind can have)
MAX_HASH_CHARS = 70_000  # one value: a video.pdq of 1,024 frames is 66,559 characters


class NoHashes(InvalidInput):
    code = "no_hashes"


class UnknownHash(InvalidInput):
    code = "unknown_signal"


def content_in(
    content_id: str,
    kind: str,
    text: str | None,
    hashes: Mapping[str, str] | None,
    subject: str | None,
) -> service.ContentIn:
    """The item a ``POST /v1/screen`` content asks about, checked (see the module)."""
    if kind == Kind.TEXT:
        if hashes is not None or text is None:
            raise service.InvalidContent("a text has its text and no hashes", field="content")
        return service.ContentIn.of(content_id, text, subject, kind)
    if text is not None:
        raise service.InvalidContent(f"{kind} content is sent as hashes, not text", field="content")
    if not hashes:
        raise NoHashes(f"{kind} content needs at least one hash", field="content.hashes")
    if len(hashes) > MAX_HASHES:
        raise NoHashes(f"at most {MAX_HASHES} hashes an item", field="content.hashes")
    readable = {s.value for s in SIGNALS_OF[Kind(kind)]}
    for name, value in hashes.items():
        at = f"content.hashes.{name}"
        if name not in registry.SIGNALS:
            known = ", ".join(sorted(readable))
            raise UnknownHash(f"no signal {name!r}; {kind} content has {known}", field=at)
        signal = registry.get(name)
        if name not in readable:
            raise KindNotRead(f"{name} does not read {kind} content", field=at)
        if len(value) > MAX_HASH_CHARS:
            raise service.InvalidContent(f"a hash is at most {MAX_HASH_CHARS} characters", field=at)
        try:
            signal.extract(Content(Kind(kind), hashes={name: value}))
        except InvalidInput as exc:
            exc.field = at
            raise
    return replace(service.ContentIn.of(content_id, "", subject, kind), hashes=dict(hashes))
