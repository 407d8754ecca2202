"""Markdown and JSON-schema text shared by the reference pages' generators.

Everything here is pure: the same schema gives the same text, so the checked-in pages can be
compared byte for byte with a fresh rendering.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Schema = Mapping[str, Any]

_CONSTRAINTS = (
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("minProperties", "at least {} entries"),
    ("maxProperties", "at most {} entries"),
)


def cell(text: object) -> str:
    """``text`` fit for a table cell: one line, pipes escaped."""
    flat = " ".join(str(text).split())
    return flat.replace("|", "\\|")


def code(value: object) -> str:
    """``value`` as inline code (JSON for anything but a string)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GitHub table; every cell is passed through :func:`cell`."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading (lower case, punctuation dropped, spaces to -)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


class SchemaText:
    """Renders JSON-schema fragments as short text; ``link`` turns a ``$ref`` name into text.

    With ``defs`` given, a ``$ref`` to an enum is written out inline (its values) rather than
    linked, for pages that have no section per schema.
    """

    def __init__(
        self, link: Callable[[str], str], defs: Mapping[str, Schema] | None = None
    ) -> None:
        self._link = link
        self._defs = defs

    def _target(self, schema: Schema) -> Schema | None:
        if "$ref" in schema and self._defs is not None:
            target = self._defs.get(ref_name(schema["$ref"]))
            if target is not None and "enum" in target:
                return target
        return None

    def type_of(self, schema: Schema) -> str:
        """``string (uuid)``, ``array of [Rule](#rule)``, ``integer or null`` ..."""
        inline = self._target(schema)
        if inline is not None:
            return self.type_of(inline)
        if "$ref" in schema:
            return self._link(ref_name(schema["$ref"]))
        if "anyOf" in schema or "oneOf" in schema:
            return self._union(schema)
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.type_of(schema["allOf"][0])
        if "const" in schema or "enum" in schema:
            values = [schema["const"]] if "const" in schema else schema["enum"]
            return ("one of " if len(values) > 1 else "") + ", ".join(map(code, values))
        return self._plain(schema)

    def _union(self, schema: Schema) -> str:
        options = schema.get("anyOf", schema.get("oneOf", ()))
        variants = [v for v in options if v.get("type") != "null"]
        texts = list(dict.fromkeys(self.type_of(v) for v in variants))
        text = " or ".join(texts)
        if "discriminator" in schema and len(texts) > 1:
            text = f"one of {text} (by `{schema['discriminator']['propertyName']}`)"
        return text + (" or null" if len(variants) < len(options) else "")

    def _plain(self, schema: Schema) -> str:
        kind = schema.get("type")
        if kind == "array":
            return self._array(schema)
        if kind == "object":
            return self._object(schema)
        if isinstance(kind, list) or kind is None:
            return " or ".join(str(k) for k in kind) if kind else "any"
        if kind == "string" and "contentMediaType" in schema:
            return f"file ({code(schema['contentMediaType'])})"
        fmt = schema.get("format")
        return f"{kind} ({fmt})" if fmt and fmt != "password" else str(kind)

    def _array(self, schema: Schema) -> str:
        if "prefixItems" in schema:
            return "[" + ", ".join(self.type_of(s) for s in schema["prefixItems"]) + "]"
        items = schema.get("items")
        return "array of " + self.type_of(items) if items else "array"

    def _object(self, schema: Schema) -> str:
        values = schema.get("additionalProperties")
        if not isinstance(values, Mapping):
            return "object"
        keys = schema.get("propertyNames")
        key_text = self.type_of(keys) if keys else "string"
        return f"map of {key_text} to {self.type_of(values)}"

    def constraints(self, schema: Schema) -> list[str]:
        """What the schema refuses: lengths, bounds, patterns, item rules (nested too)."""
        found: list[str] = []
        if schema.get("minLength") == 1 and "maxLength" not in schema:
            found.append("not empty")
        elif schema.get("minLength") == 1:
            found.append(f"1 to {schema['maxLength']} characters")
        for key, text in _CONSTRAINTS:
            if key in {"minLength", "maxLength"} and schema.get("minLength") == 1:
                continue
            if key in schema:
                found.append(text.format(schema[key]))
        if "pattern" in schema:
            found.append("matches " + code(schema["pattern"]))
        if schema.get("uniqueItems"):
            found.append("unique items")
        for key in ("anyOf", "oneOf"):
            for variant in schema.get(key, ()):
                found += self.constraints(variant)
        items = schema.get("items")
        if isinstance(items, Mapping):
            found += ["each " + text for text in self.constraints(items)]
        values = schema.get("additionalProperties")
        if isinstance(values, Mapping):
            found += ["each value " + text for text in self.constraints(values)]
        return list(dict.fromkeys(found))

    def properties(self, schema: Schema) -> list[str]:
        """A table of an object schema's properties (in declaration order); a description
        column when any property has one."""
        props = schema.get("properties", {})
        descriptions = any("description" in prop for prop in props.values())
        required = set(schema.get("required", ()))
        rows = []
        for name, prop in props.items():
            if name in required:
                need = "required"
            elif "default" in prop:
                need = "default " + code(prop["default"])
            else:
                need = "optional"
            notes = self.constraints(prop)
            row = [code(name), self.type_of(prop), need, "; ".join(notes)]
            if descriptions:
                row.append(str(prop.get("description", "")))
            rows.append(row)
        header = ["field", "type", "required", "constraints"]
        return table([*header, "description"] if descriptions else header, rows)
