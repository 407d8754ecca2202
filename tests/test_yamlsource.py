"""YAML data files: parsed with positions, every error reported as file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from trustdesk import yamlsource
from trustdesk.errors import SourceError


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    size: int


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Item]


def problems(text: str) -> list[str]:
    with pytest.raises(SourceError) as caught:
        yamlsource.validate(Doc, yamlsource.parse(text, "f.yaml"))
    return [str(p) for p in caught.value.problems]


def test_valid_documents_validate() -> None:
    doc = yamlsource.validate(Doc, yamlsource.parse("items:\n  - {name: a, size: 1}\n", "f.yaml"))
    assert doc.items[0].size == 1


def test_every_validation_error_points_at_its_value() -> None:
    text = "items:\n  - name: a\n    size: big\n  - name: b\n    colour: red\n"
    assert problems(text) == [
        "f.yaml:3:11: items.0.size: Input should be a valid integer, "
        "unable to parse string as an integer",
        "f.yaml:4:5: items.1.size: Field required",
        "f.yaml:5:13: items.1.colour: Extra inputs are not permitted",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("items: [\n", "f.yaml:2:1: did not find expected node content"),
        ("items:\n  - a\n  b: c\n", "f.yaml:3:3: did not find expected '-' indicator"),
        ("", "f.yaml:1:1: the file is empty"),
        ("# only a comment\n", "f.yaml:1:1: the file is empty"),
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3:1: duplicate key 'a'"),
        ("x: &a [1]\ny: *a\n", "f.yaml:1:4: anchors and aliases are not allowed"),
        ("? [1, 2]\n: 3\n", "f.yaml:1:3: keys must be text"),
        ("!!python/object:os.system x\n", "f.yaml:1:1: could not determine a constructor"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2:1: expected a single document in the stream, but found"),
    ],
)
def test_broken_yaml_is_located(text: str, expected: str) -> None:
    with pytest.raises(SourceError) as caught:
        yamlsource.parse(text, "f.yaml")
    assert str(caught.value.problems[0]).startswith(expected)


def test_billion_laughs_is_refused_without_expanding() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    with pytest.raises(SourceError, match="anchors and aliases"):
        yamlsource.parse("\n".join(lines) + "\n", "bomb.yaml")


def test_binary_and_non_utf8_files_are_located(tmp_path: Path) -> None:
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"a: 1\nb: \x00\x01\x02")
    with pytest.raises(SourceError, match=r"b\.yaml:2:1: binary data"):
        yamlsource.read(binary)
    latin1 = tmp_path / "l.yaml"
    latin1.write_bytes(b"a: 1\nname: caf\xe9\n")
    with pytest.raises(SourceError, match=r"l\.yaml:2:10: not UTF-8 text \(byte 0xe9\)"):
        yamlsource.read(latin1)


def test_oversized_and_missing_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * 2048 + b"\n")
    with pytest.raises(SourceError, match="limit is 1024"):
        yamlsource.read(big, max_bytes=1024)
    with pytest.raises(SourceError, match="cannot read"):
        yamlsource.read(tmp_path / "absent.yaml")
    with pytest.raises(SourceError, match="cannot read"):
        yamlsource.read(tmp_path)


def test_ten_megabytes_of_junk_gets_a_located_error() -> None:
    junk = "{[" * (5 * 1024 * 1024)
    with pytest.raises(SourceError) as caught:
        yamlsource.parse(junk, "junk.yaml")
    assert caught.value.problems[0].file == "junk.yaml"
