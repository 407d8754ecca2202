"""Only use cases open transactions; adapters never end a unit of work.

The rule (``docs/architecture.md``, "Rooms inside a slice"): an *adapter* is any slice's
``api.py`` (or ``*_api.py``), any module under ``console/``, ``cli/`` or ``http/``, and
``app.py``. An adapter parses its input, calls one use case of a slice and shapes the
answer. It never opens, commits, rolls back or begins a transaction itself: no
``transaction(...)`` or ``read_transaction(...)`` (nor importing them from
``trustdesk.db.engine``), no ``Database.transaction()``, and no ``.commit()``,
``.rollback()``, ``.begin()``, ``.begin_nested()`` on anything but a module it imported
(``screening.rollback(...)`` is a use case). Every other module of a slice is a use-case
module: those own the transactions, so a use case called from the API, the console or the
CLI commits the same way in each.

The check reads the source (AST), so it is fast and needs no database.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trustdesk

PACKAGE = Path(trustdesk.__file__).parent
ENGINE = "trustdesk.db.engine"
OPENERS = frozenset({"transaction", "read_transaction"})  # trustdesk.db.engine's use-case scopes
ENDERS = frozenset({"commit", "rollback", "begin", "begin_nested", "transaction"})
ADAPTER_FOLDERS = ("console", "cli", "http")


def is_adapter(relative: str) -> bool:
    """Whether the module at ``relative`` (to the package, POSIX) is an adapter."""
    parts = relative.split("/")
    return (
        relative == "app.py"
        or parts[-1] in {"api.py"}
        or parts[-1].endswith("_api.py")
        or parts[0] in ADAPTER_FOLDERS
    )


def violations(source: str) -> list[str]:
    """Where ``source`` (an adapter's) opens or ends a transaction, as ``line: what``."""
    tree = ast.parse(source)
    modules: set[str] = set()  # names bound by imports: calls on them are use cases
    engines: set[str] = set()  # names bound to trustdesk.db.engine itself
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                (engines if alias.name == ENGINE and alias.asname else modules).add(bound)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                bound = alias.asname or alias.name
                if node.module == ENGINE and alias.name in OPENERS:
                    found.append((node.lineno, f"imports {alias.name} from {ENGINE}"))
                is_engine = node.module == "trustdesk.db" and alias.name == "engine"
                (engines if is_engine else modules).add(bound)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in OPENERS:
            found.append((node.lineno, f"calls {function.id}()"))
        elif isinstance(function, ast.Attribute) and function.attr in ENDERS | OPENERS:
            receiver = function.value
            of_module = isinstance(receiver, ast.Name) and receiver.id in modules - engines
            if not of_module:
                found.append((node.lineno, f"calls .{function.attr}()"))
    return [f"{line}: {what}" for line, what in sorted(found)]


def adapters() -> list[str]:
    found = (p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py"))
    return sorted(relative for relative in found if is_adapter(relative))


def test_adapters_are_found() -> None:
    found = adapters()
    assert {
        "app.py",
        "screening/api.py",
        "console/web.py",
        "cli/status.py",
        "cases/outbound_api.py",
    } <= set(found)
    assert "screening/service.py" not in found and "db/engine.py" not in found


@pytest.mark.parametrize("relative", adapters())
def test_no_adapter_opens_or_ends_a_transaction(relative: str) -> None:
    source = (PACKAGE / relative).read_text(encoding="utf-8")
    found = violations(source)
    assert not found, f"{relative} ends a unit of work itself (move it into a use case): {found}"


@pytest.mark.parametrize(
    "source",
    [
        "def f(session):\n    session.commit()\n",
        "def f(page):\n    page.db.rollback()\n",
        "def f(session):\n    with session.begin():\n        pass\n",
        "def f(session):\n    with session.begin_nested():\n        pass\n",
        "from trustdesk.db.engine import transaction\n"
        "def f(session):\n    with transaction(session):\n        pass\n",
        "from trustdesk.db.engine import read_transaction as rt\n",
        "from trustdesk.db import engine\n"
        "def f(session):\n    with engine.transaction(session):\n        pass\n",
        "def f(database):\n    with database.transaction() as session:\n        pass\n",
    ],
)
def test_the_check_finds_a_violation(source: str) -> None:
    assert violations(source)


@pytest.mark.parametrize(
    "source",
    [
        "from trustdesk.screening import service as screening\n"
        "def f(session):\n    screening.rollback(session, 1, 'v', by='x')\n",
        "import trustdesk.screening.uploads as uploads\n"
        "def f(session):\n    uploads.deploy(session)\n",
        "from trustdesk.compliance import transparency\n"
        "def f(session):\n    return transparency.generate(session)\n",
        "def f(session):\n    return session.get(object, 1)\n",
    ],
)
def test_the_check_lets_use_cases_through(source: str) -> None:
    assert violations(source) == []
