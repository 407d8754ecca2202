"""Keeping personal data out of free text sent beyond the service.

Statements of reasons and reports to authorities carry a decision's facts and labels; these
pass through :func:`redact` first, which drops the case's own identifiers
(:func:`known_identifiers`) and whatever looks like an e-mail address, a link or a long number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from trustdesk.cases.models import Case

# What personal data looks like in free text: e-mail addresses, links, long numbers (phone,
# identity document); ISO dates are kept.
# Parts are bounded (an address's local part by 64 characters, its domain by 255, a link's
# scheme by 32) so that a long run of letters is passed over in linear time, not rescanned
# from every position.
_EMAIL = r"[^\s@<>()\[\],;:\"']{1,64}@[^\s@<>()\[\],;:\"']{1,253}\.[^\s@<>()\[\],;:\"'.]{1,63}"
_LINK = r"(?:[a-z][a-z0-9+.-]{0,31}://|www\.)\S+"  # a scheme is short
_NUMBER = r"\+?\d(?:[\s\-.()]{0,2}\d){6,}[\dXx]?"
_DATE = r"\b\d{4}-\d{2}-\d{2}\b"
_PERSONAL = re.compile(
    f"(?P<date>{_DATE})|(?P<email>{_EMAIL})|(?P<link>{_LINK})|(?P<number>{_NUMBER})",
    re.IGNORECASE,
)
_MARK = {"email": "[e-mail removed]", "link": "[link removed]", "number": "[number removed]"}


def personal_data(text: str) -> str | None:
    """What in ``text`` looks like personal data (e-mail, link, long number), if anything."""
    for match in _PERSONAL.finditer(text):
        if match.lastgroup != "date":
            return str(match.lastgroup)
    return None


def redact(text: str, known: Iterable[str | None] = ()) -> str:
    """``text`` without ``known`` identifiers, e-mail addresses, links and long numbers."""
    for value in sorted({k.strip() for k in known if k and len(k.strip()) >= 3}, key=len)[::-1]:
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "[identifier removed]", text)

    def mark(match: re.Match[str]) -> str:
        group = str(match.lastgroup)
        return match.group() if group == "date" else _MARK[group]

    return _PERSONAL.sub(mark, text)


def known_identifiers(case: Case) -> list[str | None]:
    """Everything about a case that names a person or an item, to keep out of free text."""
    values: list[str | None] = [case.subject, case.content_id, case.url]
    for notice in case.notices:
        values += [notice.notifier_name, notice.notifier_email, notice.content_id, notice.url]
    return values
