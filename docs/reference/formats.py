"""The generated sections of ``rules.md`` and ``policy-packs.md`` (from the pydantic models)."""

from __future__ import annotations

from docs.reference.markdown import code, table
from docs.reference.models import ModelTables, enum_values, reachable
from docs.reference.settings_page import env_name
from trustdesk.policy.params import PARAMS
from trustdesk.policy.schema import OBLIGATION_MODELS, Pack
from trustdesk.policy.vocabulary import ActionKind, Basis, ObligationKind, Severity
from trustdesk.screening import rules, sources
from trustdesk.settings import Settings


def rule_fields() -> str:
    """The fields of a rule and of ``normalization``."""
    spec = ModelTables(rules.RuleSpec)
    spec.title("RuleSpec", "A rule")
    lines = spec.table(None, heading="A rule (an entry of `rules`)")
    normalization = ModelTables(rules.Normalization)
    lines += normalization.table(None, heading="`normalization`")
    return "\n".join(lines).rstrip()


def rule_limits() -> str:
    """What one rule set may hold: the format's own limits and the server's quotas."""
    rows = [
        ["characters in a term", f"{rules.MAX_TERM_CHARS:,}", "fixed"],
        ["characters in a pattern", f"{rules.MAX_PATTERN_CHARS:,}", "fixed"],
        ["patterns in a rule set", f"{rules.MAX_PATTERNS:,}", "fixed"],
        ["RE2 program size of all patterns", f"{rules.PATTERN_BUDGET:,} instructions", "fixed"],
        ["memory RE2 may use to compile one pattern", f"{rules.PATTERN_MAX_MEM:,} bytes", "fixed"],
        ["rule files in a rule set", f"{sources.MAX_RULE_FILES:,}", "fixed"],
        ["bytes of YAML (all rule files together)", f"{sources.MAX_YAML_BYTES:,}", "fixed"],
        ["lines of a terms file", f"{sources.MAX_TERMS_FILE_LINES:,}", "fixed"],
        ["folders in a path", f"{sources.MAX_PATH_DEPTH}", "fixed"],
        ["characters in a path", f"{sources.MAX_PATH_CHARS}", "fixed"],
    ]
    quotas = (
        ("rules in a rule set", "ruleset_max_rules"),
        ("terms (with except_terms) in a rule set", "ruleset_max_terms"),
        ("bytes of an upload (rule file or zip)", "max_ruleset_bytes"),
        ("bytes a rule set unpacks to", "ruleset_max_unpacked_bytes"),
        ("bytes one zip entry unpacks to", "ruleset_max_member_bytes"),
        ("entries in a zip", "ruleset_max_members"),
        (
            "times smaller than its content a zip entry over 1 MiB is packed",
            "ruleset_max_compression_ratio",
        ),
    )
    for what, field in quotas:
        default = Settings.model_fields[field].default
        rows.append([what, f"{default:,} (default)", code(env_name(field))])
    return "\n".join(table(["what", "at most", "set by"], rows))


def pack_fields() -> str:
    """The fields of a pack and of everything it holds, an obligation's params aside."""
    tables = ModelTables(Pack)
    obligations = {model.__name__ for model in OBLIGATION_MODELS.values()}
    params = {model.__name__ for model in PARAMS.values()}
    for name in obligations:
        tables.title(name, "Obligation")
    lines = tables.tables(skip=obligations | params)
    example = OBLIGATION_MODELS[ObligationKind.CUSTOM].model_json_schema()
    sample = dict(example)
    properties = dict(sample["properties"])
    properties["kind"] = {"type": "string", "description": "One of the obligation kinds below."}
    properties["params"] = {
        "type": "object",
        "description": "Depends on `kind` (below); may be left out when none is required.",
    }
    sample["properties"] = properties
    sample["description"] = "A duty the provider must meet (an entry of `obligations`)."
    lines += ["### Obligation", "", *tables.text().properties(sample), ""]
    return "\n".join(lines).rstrip()


def obligation_params() -> str:
    """One table per obligation kind: the ``params`` it takes."""
    lines: list[str] = []
    for kind in ObligationKind:
        model = PARAMS.get(kind)
        lines += [f"### `{kind.value}`", ""]
        if model is None:
            lines += ["`params` is free-form (any mapping); trustdesk does not check it.", ""]
            continue
        tables = ModelTables(model, level="####")
        if not model.model_fields:
            lines += ["No params.", ""]
            continue
        schema = tables.schema
        if schema.get("description"):
            lines += [str(schema["description"]), ""]
        lines += [*tables.text().properties(schema), ""]
        for name in reachable(schema, tables.defs):
            lines += tables.table(name)
    return "\n".join(lines).rstrip()


def vocabulary() -> str:
    """The closed lists a pack draws from."""
    rows = [
        ["`basis`", enum_values(Basis)],
        ["`severity`", enum_values(Severity)],
        ["action `id`", enum_values(ActionKind)],
        ["obligation `kind`", enum_values(ObligationKind)],
    ]
    return "\n".join(table(["field", "values"], rows))
