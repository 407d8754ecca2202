"""The client's package: httpx its only dependency, typed, small modules, and the same
operations on both clients, each made once."""

from __future__ import annotations

import ast
import inspect
import sys
import tomllib
from pathlib import Path

import trustdesk_client
from trustdesk_client import AsyncClient, Client, calls

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "python"
PACKAGE = Path(trustdesk_client.__file__).parent


def test_httpx_is_the_only_dependency_and_the_package_is_typed() -> None:
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "trustdesk-client"
    assert [d.split(">")[0] for d in project["dependencies"]] == ["httpx"]
    assert project["requires-python"] == ">=3.11"
    assert (PACKAGE / "py.typed").is_file()
    assert PACKAGE == CLIENT / "src" / "trustdesk_client"  # the checkout's source is tested


def test_modules_import_only_the_standard_library_httpx_and_themselves() -> None:
    allowed = set(sys.stdlib_module_names) | {"httpx", "trustdesk_client"}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_no_module_is_over_400_lines() -> None:
    for path in [*PACKAGE.rglob("*.py"), *(CLIENT / "examples").rglob("*.py")]:
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path


def test_both_clients_bind_every_operation_once() -> None:
    for build in calls.OPERATIONS:
        blocking, awaiting = getattr(Client, build.__name__), getattr(AsyncClient, build.__name__)
        assert blocking.__wrapped__ is build and awaiting.__wrapped__ is build
        assert inspect.iscoroutinefunction(awaiting) and not inspect.iscoroutinefunction(blocking)
        assert blocking.__doc__ == build.__doc__
    public = {n for n in vars(Client) if not n.startswith("_")} - {"close"}
    assert public == {b.__name__ for b in calls.OPERATIONS} | {"iter_actions"}
    assert public == {n for n in vars(AsyncClient) if not n.startswith("_")} - {"aclose"}
