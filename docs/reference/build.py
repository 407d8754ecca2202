"""The reference pages: which are generated whole, which have generated sections, and the
writing and checking of both.

A page with generated sections marks each one::

    <!-- generated: NAME (make docs) -->
    ...
    <!-- end generated -->

and everything outside the markers is hand-written prose that the generator keeps as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from docs.reference import cli_page, formats, http_api, settings_page, webhooks_page

HERE = Path(__file__).resolve().parent
_SECTION = re.compile(
    r"(<!-- generated: (?P<name>[a-z0-9-]+) \(make docs\) -->\n)(?P<body>.*?)"
    r"(<!-- end generated -->)",
    re.DOTALL,
)


class StalePage(Exception):
    """A checked-in page differs from what the generator makes of the live code."""


@dataclass(frozen=True)
class Page:
    """One page: ``whole`` makes all of it, or ``sections`` fill its marked sections."""

    name: str
    whole: Callable[[], str] | None = None
    sections: Mapping[str, Callable[[], str]] = field(default_factory=dict)

    def render(self, current: str | None) -> str:
        if self.whole is not None:
            return self.whole()
        if current is None:
            msg = f"{self.name} is missing: it holds hand-written prose around its sections"
            raise StalePage(msg)
        return splice(self.name, current, {k: v() for k, v in self.sections.items()})


PAGES = (
    Page("cli.md", whole=cli_page.render),
    Page("http-api.md", whole=http_api.render),
    Page("settings.md", sections={"settings": settings_page.render_table}),
    Page(
        "rules.md",
        sections={"rule-fields": formats.rule_fields, "rule-limits": formats.rule_limits},
    ),
    Page(
        "policy-packs.md",
        sections={
            "pack-vocabulary": formats.vocabulary,
            "pack-fields": formats.pack_fields,
            "obligation-params": formats.obligation_params,
        },
    ),
    Page(
        "webhooks.md",
        sections={
            "webhook-headers": webhooks_page.render_headers,
            "event-fields": webhooks_page.render_fields,
            "event-example": webhooks_page.render_example,
            "action-kinds": webhooks_page.render_kinds,
        },
    ),
)


def splice(page: str, text: str, sections: Mapping[str, str]) -> str:
    """``text`` with each marked section's body replaced by ``sections[name]``."""
    seen: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in sections:
            raise StalePage(f"{page}: no generator makes the section {name!r}")
        seen.append(name)
        return match[1] + sections[name].rstrip("\n") + "\n" + match[4]

    result = _SECTION.sub(fill, text)
    missing = sorted(set(sections) - set(seen))
    if missing:
        raise StalePage(f"{page}: the markers of {missing} are missing")
    return result


def render_all(root: Path = HERE) -> dict[Path, str]:
    """Every page as the generator makes it now, by path."""
    rendered = {}
    for page in PAGES:
        path = root / page.name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        rendered[path] = page.render(current)
    return rendered


def stale(root: Path = HERE) -> list[Path]:
    """The pages whose checked-in text differs from a fresh rendering."""
    found = []
    for path, text in render_all(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            found.append(path)
    return found


def write_all(root: Path = HERE) -> list[Path]:
    """Rewrite the pages that changed; the paths written."""
    written = []
    for path, text in render_all(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
