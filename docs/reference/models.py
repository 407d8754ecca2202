"""Field tables of the pydantic models that define a file format (rule files, policy packs).

A table is made from the model's JSON schema: a nested model gets a table of its own, linked
from the fields that hold it; an enum's values are written out where it is used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from docs.reference.markdown import Schema, SchemaText, anchor, cell, code, ref_name


def _refs(schema: Any) -> Iterable[str]:
    """The ``$ref`` names in ``schema``, in the order they first appear."""
    if isinstance(schema, Mapping):
        if "$ref" in schema:
            yield ref_name(schema["$ref"])
        for key, value in schema.items():
            if key != "$defs":
                yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def reachable(schema: Schema, defs: Mapping[str, Schema]) -> list[str]:
    """Object definitions reachable from ``schema``, breadth first (reading order)."""
    order: list[str] = []
    queue = list(_refs(schema))
    while queue:
        name = queue.pop(0)
        target = defs.get(name)
        if name in order or target is None or "properties" not in target:
            continue
        order.append(name)
        queue += list(_refs(target))
    return order


class ModelTables:
    """Headings and field tables for a model and the object schemas it holds."""

    def __init__(self, model: type[BaseModel], *, level: str = "###") -> None:
        self.schema: Schema = model.model_json_schema()
        self.defs: Mapping[str, Schema] = self.schema.get("$defs", {})
        self.level = level
        self.titles: dict[str, str] = {}

    def title(self, name: str, heading: str) -> None:
        """Show the definition ``name`` under ``heading`` (and link to it by that)."""
        self.titles[name] = heading

    def _link(self, name: str) -> str:
        if name in self.titles:
            return f"[{self.titles[name]}](#{anchor(self.titles[name])})"
        target = self.defs.get(name, {})
        if "properties" in target:
            return f"[{name}](#{anchor(name)})"
        if "enum" in target:
            return SchemaText(self._link).type_of(target)
        return SchemaText(self._link).type_of(target) if target else name

    def text(self) -> SchemaText:
        return SchemaText(self._link)

    def table(self, name: str | None, *, heading: str | None = None) -> list[str]:
        """The heading, description and field table of ``name`` (None: the model itself)."""
        schema = self.schema if name is None else self.defs[name]
        title = heading or self.titles.get(name or "", name or str(schema.get("title")))
        lines = [f"{self.level} {title}", ""]
        if schema.get("description"):
            lines += [cell(schema["description"]), ""]
        lines += [*self.text().properties(schema), ""]
        return lines

    def tables(self, skip: Iterable[str] = ()) -> list[str]:
        """The model's table, then one per object it reaches (except ``skip``)."""
        lines = self.table(None)
        for name in reachable(self.schema, self.defs):
            if name not in set(skip):
                lines += self.table(name)
        return lines


def enum_values(values: Iterable[Any]) -> str:
    return ", ".join(code(getattr(v, "value", v)) for v in values)
