"""The reference pages in docs/reference/ say what the code says (``make docs`` writes them)."""

from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import Field

from docs.reference import build, cli_page, http_api, settings_page, webhooks_page
from docs.reference.markdown import anchor
from trustdesk.cases import webhooks
from trustdesk.cli.main import app
from trustdesk.settings import Settings

PAGES = build.HERE


@pytest.fixture(scope="module")
def rendered() -> dict[Path, str]:
    return build.render_all(PAGES)


def test_checked_in_pages_are_what_the_code_generates(rendered: dict[Path, str]) -> None:
    stale = []
    for path, text in rendered.items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            diff = difflib.unified_diff(
                current.splitlines(), text.splitlines(), str(path), "generated", lineterm="", n=1
            )
            stale.append("\n".join(list(diff)[:40]))
    assert not stale, "reference pages are stale: run `make docs`\n\n" + "\n\n".join(stale)


def test_generation_is_deterministic_and_leaks_no_temporary_path(
    rendered: dict[Path, str],
) -> None:
    again = build.render_all(PAGES)
    assert again == rendered
    http = rendered[PAGES / "http-api.md"]
    assert "trustdesk-docs-" not in http
    assert "docs.db" not in http


def test_a_changed_generated_section_is_stale_and_rewritten(tmp_path: Path) -> None:
    for page in build.PAGES:
        shutil.copy(PAGES / page.name, tmp_path / page.name)
    settings = tmp_path / "settings.md"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("TRUSTDESK_PORT", "TRUSTDESK_PORTE", 1), encoding="utf-8")
    (tmp_path / "cli.md").unlink()
    assert sorted(p.name for p in build.stale(tmp_path)) == ["cli.md", "settings.md"]
    assert sorted(p.name for p in build.write_all(tmp_path)) == ["cli.md", "settings.md"]
    assert settings.read_text(encoding="utf-8") == text
    assert build.stale(tmp_path) == []


def test_prose_outside_the_markers_is_kept_and_a_lost_marker_is_refused(tmp_path: Path) -> None:
    for page in build.PAGES:
        shutil.copy(PAGES / page.name, tmp_path / page.name)
    rules = tmp_path / "rules.md"
    text = rules.read_text(encoding="utf-8") + "\nA hand-written last word.\n"
    rules.write_text(text, encoding="utf-8")
    assert build.stale(tmp_path) == []
    rules.write_text(text.replace("<!-- generated: rule-limits (make docs) -->\n", ""), "utf-8")
    with pytest.raises(build.StalePage, match="rule-limits"):
        build.render_all(tmp_path)


def test_every_command_and_option_is_in_the_cli_page() -> None:
    page = cli_page.render()

    def walk(command: Any, path: list[str]) -> None:
        assert f"## `{' '.join(path)}`" in page
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), ["trustdesk"])
    assert "| `--dry-run` | option | flag | off |" in page
    assert "`--limit` | option | integer, 1 to 10000 | `200`" in page
    assert "\x1b[" not in page  # no colours, whatever the terminal


def test_every_route_and_status_is_in_the_http_page() -> None:
    document = http_api.openapi_document()
    page = http_api.render(document)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            section = page.split(f"### `{method.upper()} {path}`\n", 1)[1].split("\n### ", 1)[0]
            for status in operation["responses"]:
                assert re.search(rf"^\| {status} \|", section, re.MULTILINE), (method, path, status)
    for name in document["components"]["schemas"]:
        assert f"\n### {name}\n" in page


def test_problem_codes_declared_in_examples_are_listed() -> None:
    problem = {"$ref": "#/components/schemas/Problem"}
    content = {
        "application/problem+json": {
            "schema": problem,
            "examples": {"busy": {"value": {"code": "ruleset_compiler_busy"}}},
        }
    }
    document = {
        "info": {"title": "t", "version": "1"},
        "paths": {"/x": {"post": {"tags": ["a"], "responses": {"429": {"content": content}}}}},
        "components": {"schemas": {"Problem": {"type": "object", "properties": {}}}},
    }
    page = http_api.render(document)
    row = "| 429 |  | `application/problem+json` [Problem](#problem) | `ruleset_compiler_busy` |"
    assert row in page
    assert "**Who may call:** anyone (no credentials)." in page


def test_every_setting_has_a_row_and_a_setting_without_a_description_is_refused() -> None:
    table = settings_page.render_table()
    for name in Settings.model_fields:
        assert f"| `TRUSTDESK_{name.upper()}` |" in table

    class Undocumented(Settings):
        shiny_new_knob: int = Field(default=3)

    with pytest.raises(settings_page.MissingDescription, match="shiny_new_knob"):
        settings_page.render_table(Undocumented)


def test_the_environment_does_not_change_the_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    before = settings_page.default_settings()
    monkeypatch.setenv("TRUSTDESK_PORT", "9999")
    monkeypatch.setenv("TRUSTDESK_ENVIRONMENT", "production")
    assert settings_page.default_settings() == before


def test_the_documented_webhook_check_accepts_trustdesks_signature() -> None:
    page = (PAGES / "webhooks.md").read_text(encoding="utf-8")
    source = page.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(source, "webhooks.md", "exec"), namespace)  # noqa: S102 - our own page
    verify = namespace["verify"]
    secret = webhooks.new_secret()
    body = webhooks.encode_event(webhooks_page.sample_event())
    header = webhooks.signature_header(secret, body)
    assert verify(secret, body, header) == webhooks_page.sample_event()
    with pytest.raises(ValueError, match="bad signature"):
        verify(secret, body.replace(b"suspend_updates", b"restore"), header)
    with pytest.raises(ValueError, match="stale"):
        verify(secret, body, webhooks.signature_header(secret, body, timestamp=1_000_000))
    assert webhooks.verify(secret, body, header) == verify(secret, body, header)


def test_the_index_links_every_page() -> None:
    index = (PAGES / "README.md").read_text(encoding="utf-8")
    for page in build.PAGES:
        assert f"]({page.name})" in index


def _anchors(text: str) -> set[str]:
    body = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return {anchor(h) for h in re.findall(r"^#+ (.+)$", body, re.MULTILINE)}


def test_every_link_between_the_pages_lands_on_a_heading(rendered: dict[Path, str]) -> None:
    pages = {path.name: text for path, text in rendered.items()}
    pages["README.md"] = (PAGES / "README.md").read_text(encoding="utf-8")
    broken = []
    for name, text in pages.items():
        for target, fragment in re.findall(r"\]\(([\w.-]*?)(?:#([\w-]+))?\)", text):
            page = target or name
            if page.startswith("..") or not page.endswith(".md"):
                continue
            if page not in pages or (fragment and fragment not in _anchors(pages[page])):
                broken.append(f"{name}: ({target}#{fragment})")
    assert not broken
