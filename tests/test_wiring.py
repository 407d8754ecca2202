"""The application's wiring is one typed Desk: nothing reads an application's ``state``
but the factory (``trustdesk/app.py``) and the one dependency (``trustdesk/http/deps.py``).

A slice that reached for ``request.app.state.X`` would get an untyped part that mypy
cannot check against the Desk; a test that wrote one would bypass the factory.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = frozenset({Path("src/trustdesk/app.py"), Path("src/trustdesk/http/deps.py")})


def _is_app(node: ast.expr) -> bool:
    """``app``, ``request.app``, ``client.app``, ...: an expression naming an application."""
    return (isinstance(node, ast.Name) and node.id == "app") or (
        isinstance(node, ast.Attribute) and node.attr == "app"
    )


def _state_by_name(node: ast.Call) -> bool:
    """``getattr(app, "state")`` and its kin."""
    return (
        isinstance(node.func, ast.Name)
        and node.func.id in {"getattr", "setattr", "hasattr", "delattr"}
        and len(node.args) >= 2
        and _is_app(node.args[0])
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value == "state"
    )


def state_uses(source: str) -> list[int]:
    """The lines of ``source`` that touch an application's ``state`` (read or write,
    directly or through ``getattr``/``setattr``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "state" and _is_app(node.value):
            found.append(node.lineno)
        if isinstance(node, ast.Call) and _state_by_name(node):
            found.append(node.lineno)
    return sorted(found)


def test_the_checker_finds_every_form_of_a_state_use() -> None:
    sample = """
def route(request):
    vault = request.app.state.vault
    request.app.state.limiter = object()
    clock = getattr(request.app.state, "console_clock", None)
    return getattr(request.app, "state").settings

def fixture(app, client):
    app.state.packs = None
    return client.app.state.database
"""
    assert state_uses(sample) == [3, 4, 5, 6, 9, 10]
    assert state_uses("row.state\nrequest.state.x = 1\nentry.state()\n") == []


def test_no_module_but_the_factory_and_the_dependency_touches_app_state() -> None:
    offenders = []
    for folder in ("src", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in ALLOWED:
                continue
            for line in state_uses(path.read_text(encoding="utf-8")):
                offenders.append(f"{relative}:{line}")
    assert offenders == [], "read the Desk through trustdesk.http.deps.get_desk instead"
