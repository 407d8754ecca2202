"""Keep the console's message catalogs in step with its templates and code.

``python -m trustdesk.console.catalog`` extracts every marked string (``_()`` and
``{% trans %}`` in templates, :func:`~trustdesk.console.i18n.N_` in Python) and merges it
into each language's ``.po`` file, keeping existing translations; ``check`` (what the
tests run) lists the strings that a non-English catalog does not translate yet.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from trustdesk.console.i18n import DOMAIN, LANGUAGES, catalog_path

ROOT = Path(__file__).parent
HEADER = (
    "# The trustdesk console's messages in {language}.\n"
    "# Update after changing a page: python -m trustdesk.console.catalog\n"
    "# (an empty msgstr falls back to the English msgid; tests require every zh one)."
)
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}}


def extracted() -> Catalog:
    """Every string the console marks for translation."""
    template = Catalog(domain=DOMAIN, project="trustdesk", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), METHODS, OPTIONS, strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def read(language: str) -> Catalog:
    path = catalog_path(language)
    if not path.is_file():
        return Catalog(locale=language, domain=DOMAIN, project="trustdesk", fuzzy=False)
    with path.open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


def update() -> None:
    """Merge the extracted strings into every language's catalog (dropping unused ones)."""
    template = extracted()
    for language in LANGUAGES:
        catalog = read(language)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.header_comment = HEADER.format(language=language)
        path = catalog_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as target:
            write_po(target, catalog, width=100, omit_header=False, sort_output=True)


def untranslated(language: str) -> list[str]:
    """Strings marked in the console that ``language``'s catalog leaves untranslated."""
    catalog = read(language)
    missing = []
    for message in extracted():
        if not message.id:
            continue
        found = catalog.get(message.id)
        forms = found.string if found is not None else ""
        translated = all(forms) if isinstance(forms, tuple) else bool(forms)  # plural forms
        if found is None or not translated or found.fuzzy:
            missing.append(str(message.id[0] if isinstance(message.id, tuple) else message.id))
    return sorted(missing)


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        problems = {lang: untranslated(lang) for lang in LANGUAGES if lang != "en"}
        for language, missing in problems.items():
            for message in missing:
                print(f"{catalog_path(language)}: untranslated: {message!r}")
        return 1 if any(problems.values()) else 0
    update()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
