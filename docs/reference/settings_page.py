"""``settings.md``: every field of :class:`trustdesk.settings.Settings` as an environment variable.

The table sits between markers in the hand-written page; a setting without a description
stops the generator (every setting must say what it does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from docs.reference.markdown import SchemaText, code, table
from trustdesk.settings import Settings


class MissingDescription(Exception):
    """A setting (or another documented field) has no description."""


class _Defaults(Settings):
    """The settings with nothing read from the environment or a ``.env`` file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def default_settings(**values: Any) -> Settings:
    """:class:`Settings` from defaults and ``values`` only (the environment is ignored)."""
    return _Defaults(**values)


def env_name(field: str) -> str:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return (prefix + field).upper()


def _default(model: type[Settings], name: str) -> str:
    info = model.model_fields[name]
    if info.default_factory is not None:
        value: Any = info.get_default(call_default_factory=True, validated_data={})
    else:
        value = info.default
    if value is None:
        return "none"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, list) and not value:
        return code("[]")
    text = code(getattr(value, "value", value))
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1024 * 1024:
        mib = value / (1024 * 1024)
        text += f" ({mib:g} MiB)" if mib < 1024 else f" ({mib / 1024:g} GiB)"
    return text


def render_table(model: type[Settings] = Settings) -> str:
    """The settings table (markdown), one row a setting in declaration order."""
    schema = model.model_json_schema()
    text = SchemaText(lambda name: name, defs=schema.get("$defs", {}))
    rows = []
    for name, prop in schema["properties"].items():
        description = prop.get("description")
        if not description:
            msg = f"{model.__name__}.{name} has no description: add description= in settings.py"
            raise MissingDescription(msg)
        kind = text.type_of(prop)
        if prop.get("format") == "password":
            kind += " (secret)"
        constraints = "; ".join(text.constraints(prop))
        default = _default(model, name)
        rows.append([code(env_name(name)), kind, default, constraints, description])
    header = ["variable", "type", "default", "constraints", "description"]
    return "\n".join(table(header, rows))
