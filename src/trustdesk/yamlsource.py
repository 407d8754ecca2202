"""Load YAML data files and validate them with pydantic, pointing every error at file:line:col.

Policy packs and rule files are data written by people; a mistake in one must be reported
where it is, all at once, not as a stack trace.  :func:`load` parses with PyYAML's safe
composer, remembers where each value starts, refuses duplicate keys and anchors/aliases
(which let a small file expand into a huge one), and :func:`validate` maps pydantic's
error locations back to those positions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from trustdesk.errors import SourceError, SourceLocation

MAX_SOURCE_BYTES = 64 * 1024 * 1024
# libyaml's parser when PyYAML was built with it (the wheels are): same nodes, ~10x faster.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


@dataclass(slots=True)
class Document:
    """A parsed YAML document: its plain data and where each value starts (1-based)."""

    file: str
    data: Any
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def locate(self, loc: Iterable[str | int]) -> tuple[int, int]:
        """The position of the deepest recorded value on the path ``loc``."""
        path = tuple(loc)
        while path and path not in self.positions:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def error(self, loc: Iterable[str | int], message: str) -> SourceLocation:
        line, column = self.locate(loc)
        return SourceLocation(self.file, line, column, message)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, document: Document) -> None:
        self.loader = loader
        self.document = document
        self.problems: list[SourceLocation] = []
        self.seen: set[int] = set()

    def _mark(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def build(self, node: yaml.Node, path: Loc) -> Any:
        self.document.positions[path] = self._mark(node)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in self.seen:
                line, column = self._mark(node)
                self.problems.append(
                    SourceLocation(
                        self.document.file, line, column, "anchors and aliases are not allowed"
                    )
                )
                return None
            self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._construct(node)

    def _construct(self, node: yaml.Node) -> Any:
        """The value of ``node`` (a scalar, or a whole key), or None with a problem."""
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. an impossible date such as 2024-13-01
            line, column = self._mark(node)
            self.problems.append(
                SourceLocation(self.document.file, line, column, f"not a valid value: {exc}")
            )
            return None

    def _mapping(self, node: yaml.MappingNode, path: Loc) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            problems = len(self.problems)
            key = self._construct(key_node)  # keys are values too: 2024-02-30: is a date
            line, column = self._mark(key_node)
            if len(self.problems) > problems:
                continue
            if not isinstance(key, str | int):
                self.problems.append(
                    SourceLocation(self.document.file, line, column, "keys must be text")
                )
                continue
            if key in result:
                self.problems.append(
                    SourceLocation(self.document.file, line, column, f"duplicate key {key!r}")
                )
                continue
            result[key] = self.build(value_node, (*path, key))
        return result


def parse(text: str, file: str) -> Document:
    """Parse one YAML document from ``text``; ``file`` names it in error messages."""
    document = Document(file=file, data=None)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SourceError([SourceLocation(file, 1, 1, "the file is empty")])
        builder = _Builder(loader, document)
        document.data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "not valid YAML"
        if exc.context and problem.startswith("but "):
            problem = f"{exc.context}, {problem}"
        raise SourceError([SourceLocation(file, line, column, problem)]) from exc
    except yaml.YAMLError as exc:
        raise SourceError([SourceLocation(file, 1, 1, f"not valid YAML: {exc}")]) from exc
    except RecursionError as exc:
        line, column = loader.line + 1, loader.column + 1
        message = "values are nested too deeply"
        raise SourceError([SourceLocation(file, line, column, message)]) from exc
    finally:
        loader.dispose()
    if builder.problems:
        raise SourceError(builder.problems)
    return document


def read(path: Path, *, max_bytes: int = MAX_SOURCE_BYTES) -> Document:
    """Read and parse the YAML file at ``path`` (UTF-8, at most ``max_bytes``)."""
    file = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            message = f"the file is {size} bytes; the limit is {max_bytes}"
            raise SourceError([SourceLocation(file, 1, 1, message)])
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError([SourceLocation(file, 1, 1, f"cannot read: {exc.strerror}")]) from exc
    return parse(decode(raw, file), file)


def decode(raw: bytes, file: str) -> str:
    """UTF-8 text of ``raw``, or a SourceError at the first undecodable byte."""
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise SourceError([SourceLocation(file, line, 1, "binary data (NUL byte) in a text file")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x})"
        raise SourceError([SourceLocation(file, line, column, message)]) from exc


def validate(model: type[M], document: Document, *, context: dict[str, Any] | None = None) -> M:
    """Validate ``document`` against ``model``; every pydantic error becomes file:line:col."""
    try:
        return model.model_validate(document.data, context=context)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            where = ".".join(str(part) for part in loc) or "document"
            problems.append(document.error(loc, f"{where}: {error['msg']}"))
        raise SourceError(problems) from exc
