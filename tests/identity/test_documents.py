"""The document registry, the error tree, and every module over junk input."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.errors import InvalidInput
from trustdesk.identity import documents
from trustdesk.identity.documents import errors
from trustdesk.identity.documents.registry import TYPES, DocumentType, get_document_type
from trustdesk.policy.vocabulary import DocumentType as AcceptedDocument

from synthetic import corpus

MODULES = sorted(TYPES)
JUNK: list[object] = [
    None,
    "",
    "€",
    "😴",
    b"\xc2\xb2",
    b"110101199003071234",
    bytearray(b"A1234563"),
    0,
    110101199003071234,
    1.5,
    [],
    ["1", "1"],
    {},
    object(),
    "x" * 10**6,
    "1" * 10**6,
    "\ud800",
    "\udfff" * 18,
    "\x00" * 18,
    "\x1b[31m",
    "\u200b" * 18,
    "\u202e110101199003071234",
    " \t\n\r\x0b\x0c",
    " " * 10**6,
    "-" * 10**6,
    "<" * 10**6,
    "()",
    "1" * 18 + "\x00",
    "١١٠١٠١١٩٩٠٠٣٠٧١٢٣٤",  # Arabic-Indic digits: digits to str.isdigit, not to us
]


def test_the_registry_holds_exactly_the_types_the_packs_may_accept() -> None:
    assert set(TYPES) == {str(t) for t in AcceptedDocument}
    for name, document in TYPES.items():
        assert isinstance(document, DocumentType)
        assert document.name == name == document.module.NAME
        assert document.description
        assert document.module.MAX_INPUT <= 200  # what identity.service accepts at most


def test_an_unknown_type_is_a_usage_error_not_an_invalid_document() -> None:
    assert get_document_type("cn.ric").name == "cn.ric"
    for name in ("cn.RIC", "ric", "", "x" * 1000):
        with pytest.raises(errors.UnknownDocumentType, match=r"known types: cn\.ric") as caught:
            get_document_type(name)
        assert isinstance(caught.value, InvalidInput)
        assert not isinstance(caught.value, errors.DocumentError)
        assert len(caught.value.message) < 200


def test_every_error_has_a_stable_snake_case_reason_and_is_invalid_input() -> None:
    classes = [
        errors.DocumentError,
        errors.InvalidFormat,
        errors.InvalidLength,
        errors.InvalidChecksum,
        errors.InvalidComponent,
        errors.InvalidDate,
        errors.FutureDate,
        errors.InvalidRegion,
    ]
    reasons = [cls.reason for cls in classes]
    assert reasons == [
        "invalid_document",
        "invalid_format",
        "invalid_length",
        "invalid_checksum",
        "invalid_component",
        "invalid_date",
        "future_date",
        "invalid_region",
    ]
    for cls in classes:
        assert issubclass(cls, InvalidInput)
        assert cls.code == "invalid_document"
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.reason)
        error = cls()
        assert error.message == cls.default_message
        assert cls("specific").message == "specific"
    assert issubclass(errors.FutureDate, errors.InvalidDate)
    assert issubclass(errors.InvalidRegion, errors.InvalidComponent)


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("junk", JUNK, ids=lambda j: f"{type(j).__name__}:{repr(j)[:12]}")
def test_every_module_refuses_junk_with_a_document_error(name: str, junk: object) -> None:
    module = TYPES[name].module
    with pytest.raises(errors.DocumentError):
        module.validate(junk)  # type: ignore[arg-type]
    assert module.is_valid(junk) is False  # type: ignore[arg-type]
    assert TYPES[name].is_valid(junk) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("name", MODULES)
def test_long_input_is_refused_by_its_length_before_any_cleaning(name: str) -> None:
    module = TYPES[name].module
    valid = corpus(per_type=1)[name][0]
    padded = valid + " " * module.MAX_INPUT  # cleaning would strip it back to valid
    with pytest.raises(errors.InvalidLength):
        module.validate(padded)
    with pytest.raises(errors.InvalidLength):
        module.compact(padded)


@pytest.mark.parametrize("name", MODULES)
@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=120) | st.binary(max_size=120))
def test_every_module_answers_any_text_with_a_verdict(name: str, text: str) -> None:
    module = TYPES[name].module
    try:
        module.validate(text)
    except errors.DocumentError:
        assert not module.is_valid(text)
    else:
        assert module.is_valid(text)


def test_the_documents_package_imports_only_errors_the_standard_library_and_stdnum() -> None:
    allowed = ("trustdesk.errors", "trustdesk.identity.documents", "stdnum", "__future__")
    for path in Path(documents.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, path
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name.startswith(allowed), (path, name)
