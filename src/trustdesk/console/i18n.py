"""The console's languages: Babel catalogs read from the committed ``.po`` files at start.

The ``.po`` sources under ``locale/<lang>/LC_MESSAGES/messages.po`` are the only catalog
files: they are compiled in memory when the console starts, so a clean checkout needs no
build step. Python code marks strings with :func:`N_` (translated when rendered); templates
use ``{% trans %}`` and ``_()``. ``python -m trustdesk.console.catalog`` re-extracts every
marked string into the catalogs after a page changes.

A request's language is the one its user picked (kept in the session), else the user's
profile language, else the best match of the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
MAX_ACCEPT_LANGUAGE = 500  # characters of the header worth reading


def N_(message: str) -> str:  # noqa: N802  (the conventional gettext marker name)
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language`` (English falls back to the message ids)."""
    path = catalog_path(language)
    if language not in LANGUAGES or not path.is_file():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(language: str, message: str) -> str:
    return translations(language).gettext(message)


def from_accept_language(header: str | None) -> str | None:
    """The first of :data:`LANGUAGES` the browser asks for, by quality, or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_ACCEPT_LANGUAGE].split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if primary in LANGUAGES and 0.0 < quality <= 1.0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else None


def choose(picked: object, profile: str | None, accept_language: str | None) -> str:
    """The request's language: picked, else the profile's, else the browser's, else English."""
    for candidate in (picked, profile, from_accept_language(accept_language)):
        if isinstance(candidate, str) and candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
