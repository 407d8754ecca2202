"""Field types of request models that say in the API document what the server enforces.

``DateTime`` is what the document calls a ``date-time``: RFC 3339 text with its offset;
``Date`` a ``date``: RFC 3339's full-date. Pydantic alone also reads numbers (and numeric
text, as in a query string) as Unix times, and takes naive or date-only text for a time,
which the document does not promise and the database refuses (a naive time given to a
UTC column).

The patterns state the character rules of :mod:`trustdesk.text` in the document, where a
regular expression can state them exactly: the services enforce them (with their own
error codes), so the models carry them as documentation only (``json_schema_extra``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, Field, WithJsonSchema

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
DATE_TIME_FORM = "RFC 3339 text with an offset, such as 2026-01-31T12:00:00Z"


def _text_form(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and RFC3339.fullmatch(value)):
        return value
    msg = f"a date-time is {DATE_TIME_FORM}"
    raise ValueError(msg)


DateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_text_form),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_form(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and FULL_DATE.fullmatch(value)):
        return value
    msg = "a date is RFC 3339 text, such as 2026-01-31"
    raise ValueError(msg)


Date = Annotated[
    date, BeforeValidator(_date_form), WithJsonSchema({"type": "string", "format": "date"})
]


def _whole(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# What the document calls an integer, which JSON writes 5 or 5.0: never text or a boolean.
Integer = Annotated[int, BeforeValidator(_whole), Field(strict=True)]

# The C0 and C1 controls (Unicode's Cc), all of them or all but line feed and tab. The
# services strip what they are sent (Python's whitespace, which counts U+001C-U+001F) and
# then refuse blank text and controls: the patterns say so.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_PROSE_CONTROLS = r"\x00-\x08\x0b-\x1f\x7f-\x9f"
_STRIPPED = r"\s\x1c-\x1f"


def _not_blank_without(controls: str) -> str:
    return f"^[{_STRIPPED}]*[^{controls}]*[^\\s{controls}][^{controls}]*[{_STRIPPED}]*$"


def _blank_or_without(controls: str) -> str:
    return f"^[{_STRIPPED}]*[^{controls}]*[{_STRIPPED}]*$"


# Prose a person writes (an explanation, facts): lines and tabs, no other control.
PROSE = _not_blank_without(_PROSE_CONTROLS)
# One line of text (a name, a label, a reference): no control at all.
LINE = _not_blank_without(_CONTROLS)
# The same where blank text counts as none given.
PROSE_OR_BLANK = _blank_or_without(_PROSE_CONTROLS)
LINE_OR_BLANK = _blank_or_without(_CONTROLS)


# Text with its rule in the document (and a service enforcing it, with its own code).
Prose = Annotated[str, Field(json_schema_extra={"pattern": PROSE})]
Line = Annotated[str, Field(json_schema_extra={"pattern": LINE})]
ProseOrBlank = Annotated[str, Field(json_schema_extra={"pattern": PROSE_OR_BLANK})]
LineOrBlank = Annotated[str, Field(json_schema_extra={"pattern": LINE_OR_BLANK})]
