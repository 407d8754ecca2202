"""Crashes the fuzz drills found, each fixed at its root; the inputs are in the corpus too."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from trustdesk import yamlsource
from trustdesk.compliance import inventory_csv
from trustdesk.compliance.servers import ServerIn
from trustdesk.errors import SourceError
from trustdesk.policy import loader
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import rules, sources

from support import ServiceFactory, assert_problem, bearer

CORPUS = Path(__file__).resolve().parent / "corpus"


def test_a_zip_whose_offsets_point_before_its_start_is_refused(packs: PackRegistry) -> None:
    """Its central directory sends zipfile to a negative offset: a ValueError, not a
    BadZipFile, escaped the loader (a 500 on upload)."""
    data = (CORPUS / "ruleset_archive" / "crash-negative-seek.zip").read_bytes()
    with pytest.raises(SourceError, match="cannot be unpacked"):
        sources.load_archive(data, packs.all())


def test_uploading_that_zip_answers_422(client: TestClient, make_service: ServiceFactory) -> None:
    data = (CORPUS / "ruleset_archive" / "crash-negative-seek.zip").read_bytes()
    key = make_service().api_key
    answer = client.post(
        "/v1/rulesets", files={"file": ("r.zip", data, "application/zip")}, headers=bearer(key)
    )
    assert_problem(answer, 422, "invalid_source")


@pytest.mark.parametrize("name", ["'=cmd", "'+1", "''@x", "'-", "'\t"])
def test_a_name_that_starts_like_an_escaped_formula_exports_and_imports_unchanged(
    name: str,
) -> None:
    """The export left ``'=cmd`` as it was and the import took its ``'`` off: ``=cmd``."""
    server = ServerIn(
        name=name,
        kind="server",
        role="web",
        provider="Acme",
        location="DE-BE",
        gbt2260=None,
        data_classes=(),
        populations=("DE",),
    ).checked()
    assert inventory_csv.read(inventory_csv.write([server]).encode()) == [server]


def test_the_fuzzed_inventory_round_trips() -> None:
    data = (CORPUS / "inventory_import" / "crash-quoted-formula.csv").read_bytes()
    servers = inventory_csv.read(data)
    assert [server.name for server in servers] == ["'=cmd"]
    assert inventory_csv.read(inventory_csv.write(servers).encode()) == servers


def test_a_carriage_return_inside_a_terms_file_term_is_refused() -> None:
    """Inline terms refuse control characters; a terms file let ``a\\rb`` through as a term
    (only the \\r of CRLF line ends belongs in a file)."""
    terms, problems = rules.parse_terms("first\nsec\rond\n", "terms.txt")
    assert [(p.line, p.column, p.message) for p in problems] == [(2, 4, "control character")]
    terms, problems = rules.parse_terms("first\r\n  second \r\n\r\n", "terms.txt")
    assert (terms, problems) == (["first", "second"], [])


def test_the_fuzzed_rule_set_with_that_term_is_refused(packs: PackRegistry) -> None:
    data = (CORPUS / "rule_file" / "crash-carriage-return-in-term").read_bytes()
    rule_file, _, terms_file = data.partition(b"\n--8<--\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("rules.yaml", rule_file)
        zipped.writestr("terms.txt", terms_file)
    with pytest.raises(SourceError, match="control character"):
        sources.load_archive(archive.getvalue(), packs.all())


def test_a_zip_asking_for_an_unknown_zip_version_is_refused(
    client: TestClient, make_service: ServiceFactory
) -> None:
    """zipfile raises NotImplementedError while reading the central directory (a 500)."""
    data = (CORPUS / "ruleset_archive" / "crash-zip-version.zip").read_bytes()
    key = make_service().api_key
    answer = client.post(
        "/v1/rulesets", files={"file": ("r.zip", data, "application/zip")}, headers=bearer(key)
    )
    body = assert_problem(answer, 422, "invalid_source")
    assert "not a zip archive" in body["detail"]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [("2024-02-30: x\n", 1, 1), ("a: 1\n? {b: 2014-12-48}\n: c\n", 2, 3)],
)
def test_an_impossible_date_in_a_yaml_key_is_a_source_error(
    text: str, line: int, column: int
) -> None:
    """Values holding impossible dates were refused, keys were not: a ValueError escaped."""
    with pytest.raises(SourceError, match="not a valid value") as raised:
        yamlsource.parse(text, "pack.yaml")
    assert (raised.value.problems[0].line, raised.value.problems[0].column) == (line, column)


def test_the_fuzzed_pack_with_such_a_key_is_refused() -> None:
    data = (CORPUS / "policy_pack" / "crash-date-in-a-key").read_bytes()
    with pytest.raises(SourceError):
        loader.parse(yamlsource.parse(yamlsource.decode(data, "pack.yaml"), "pack.yaml"))


def test_uploading_a_rule_file_with_such_a_key_answers_422(
    client: TestClient, make_service: ServiceFactory
) -> None:
    key = make_service().api_key
    files = {"file": ("rules.yaml", b"2024-02-30: x\n")}
    answer = client.post("/v1/rulesets", files=files, headers=bearer(key))
    assert_problem(answer, 422, "invalid_source")
