"""What the console's browser tests share: Debian's chromium, screenshots, axe, widths."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from support import HOSTILE_STRINGS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SHOTS_FOR_THE_LEAD = REPO / "test-results" / "screenshots"
WIDTHS = (1280, 390)
SERIOUS = {"serious", "critical"}


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"the browser tests drive Debian's chromium; {CHROMIUM} is not installed")


class Camera:
    """Saves each main page at both widths, checks its width and runs axe-core in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        SHOTS_FOR_THE_LEAD.mkdir(parents=True, exist_ok=True)
        self.axe_results: dict[str, list[str]] = {}

    def check(self, page: Any, name: str) -> None:
        """Screenshot ``page`` at every width, assert no sideways scrolling and no serious
        accessibility violation."""
        from axe_playwright_python.sync_playwright import Axe  # noqa: PLC0415  (optional)

        original = page.viewport_size
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            shot = self.folder / f"{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            shutil.copy(shot, SHOTS_FOR_THE_LEAD / shot.name)
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
        page.set_viewport_size(original)
        results = Axe().run(page)
        violations = results.response["violations"]
        self.axe_results[name] = [f"{v['id']} ({v['impact']})" for v in violations]
        for folder in (self.folder, SHOTS_FOR_THE_LEAD):
            (folder / "axe.json").write_text(json.dumps(self.axe_results, indent=2) + "\n")
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in violations
            if v["impact"] in SERIOUS
        ]
        assert not serious, f"{name}: {serious}"


PASSWORD = "x" * 16  # what support.token_for gives the desk's people
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TRACEBACK = re.compile(r"Traceback|File \"|line \d+, in ")
FORM = "application/x-www-form-urlencoded"


class Visitor:
    """A TestClient that keeps cookies and sends each form with the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def token(self, path: str = "/console/login") -> str:
        page = self.client.get(path)
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code} {page.text[:300]}"
        return found.group(1)

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, form_page: str = "/console/login"
    ) -> Any:
        form = {"csrf_token": self.token(form_page), **(data or {})}
        return self.client.post(path, data=form, follow_redirects=False)

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        answer = self.post("/console/login", {"username": username, "password": password})
        assert answer.status_code == 303, answer.text
        return answer


def assert_hostile_fields_answered(
    visitor: Visitor,
    path: str,
    valid: Mapping[str, Any],
    *,
    token_page: str,
    statuses: set[int],
) -> None:
    """Post the form ``valid`` to ``path`` once per field and hostile string (that field set
    to it, the others valid): each answer has one of ``statuses``, escapes what it shows
    and is never a traceback."""
    for field in valid:
        for hostile in HOSTILE_STRINGS:
            values = {"csrf_token": visitor.token(token_page), **valid, field: hostile}
            body = urlencode(values, doseq=True, errors="surrogatepass")
            answer = visitor.client.post(
                path, content=body, headers={"content-type": FORM}, follow_redirects=False
            )
            assert answer.status_code in statuses, (
                path,
                field,
                hostile[:20],
                answer.status_code,
                answer.text[:300],
            )
            assert "<script>alert(1)</script>" not in answer.text
            assert not TRACEBACK.search(answer.text)
