"""Fuzz targets: each takes any bytes and holds its module to its contract.

A target lets through only the domain errors its module documents (it catches them and
returns); any other exception is a crash, and so is a broken invariant (an
``AssertionError``). The targets take raw bytes and read them plainly (text as UTF-8, a
separator line between parts), so the seed corpus in ``corpus/<target>/`` is readable files
and atheris's mutations stay close to real input. ``run.py`` runs one under atheris;
``test_targets.py`` replays the corpus and a seeded batch of mutations in the normal suite.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustdesk import yamlsource
from trustdesk.compliance import inventory_csv
from trustdesk.errors import InvalidInput, SourceError
from trustdesk.identity.documents.registry import TYPES, DocumentError
from trustdesk.policy import loader
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import load_registry
from trustdesk.records import note
from trustdesk.screening import rules, sources
from trustdesk.screening.normalize import Normalizer, Steps

Target = Callable[[bytes], None]
PART = b"\n--8<--\n"  # separates the parts of one input (rule file | terms file ...)
TODAY = datetime.date(2026, 1, 1)  # documents: a fixed "today", so runs repeat


@cache
def _packs() -> Sequence[Pack]:
    return load_registry([]).all()


def _text(data: bytes) -> str:
    """Any text, lone surrogates included: UTF-32 code points when the first byte is 0xff
    (each taken modulo the code space), else UTF-8 with bad bytes as U+FFFD."""
    if data[:1] == b"\xff":
        body = data[1:]
        points = [
            int.from_bytes(body[i : i + 4], "little") % 0x110000 for i in range(0, len(body) - 3, 4)
        ]
        return "".join(map(chr, points))
    return data.decode("utf-8", "replace")


# --- rule sets (screening/rules.py, screening/sources.py, yamlsource.py) ---------------------


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _check_ruleset(ruleset: sources.RuleSetSource) -> None:
    assert len(ruleset.version) == 64
    assert int(ruleset.version, 16) >= 0
    ids = [rule.id for rule in ruleset.rules]
    assert len(ids) == len(set(ids)), "rule ids are unique"
    for rule in ruleset.rules:
        assert rules.RULE_ID.fullmatch(rule.id)
        assert rule.terms or rule.patterns, "a rule matches something"
        for term in (*rule.terms, *rule.except_terms):
            assert term == term.strip()
            assert 0 < len(term) <= rules.MAX_TERM_CHARS
            assert not rules.CONTROL.search(term)
        assert len(set(rule.terms)) == len(rule.terms), "terms are distinct"


def rule_file(data: bytes) -> None:
    """A rule file (``rules.yaml``) and a terms file (``terms.txt``) beside it, in a zip."""
    yaml_part, _, terms_part = data.partition(PART)
    archive = _zip({"rules.yaml": yaml_part, "terms.txt": terms_part})
    try:
        ruleset = sources.load_archive(archive, _packs())
    except SourceError as exc:
        assert exc.problems, "a SourceError names at least one problem"
        for problem in exc.problems:
            assert problem.line >= 1
            assert problem.column >= 1
        return
    _check_ruleset(ruleset)
    again = sources.load_archive(archive, _packs())
    assert again.version == ruleset.version, "the same files give the same version"


def ruleset_archive(data: bytes) -> None:
    """Any bytes as an uploaded rule-set zip."""
    try:
        ruleset = sources.load_archive(data, _packs())
    except SourceError as exc:
        assert exc.problems
        return
    _check_ruleset(ruleset)


def terms_file(data: bytes) -> None:
    """A terms file's text: problems point inside the text, terms are clean lines."""
    text = _text(data)
    terms, problems = rules.parse_terms(text, "terms.txt")
    lines = text.split("\n")
    for problem in problems:
        assert 1 <= problem.line <= len(lines), problem
        assert 1 <= problem.column <= len(lines[problem.line - 1]) + 1, problem
    assert len(problems) <= rules.MAX_PROBLEMS_PER_FILE + 1
    for term in terms:
        assert term == term.strip()
        assert term
        assert not term.startswith("#")
        assert "\n" not in term


# --- policy packs (policy/loader.py, yamlsource.py) ------------------------------------------


def policy_pack(data: bytes) -> None:
    """A ``pack.yaml``: a checked Pack, or a SourceError at file:line:col."""
    try:
        document = yamlsource.parse(yamlsource.decode(data, "pack.yaml"), "pack.yaml")
        pack = loader.parse(document)
    except SourceError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == "pack.yaml"
            assert problem.line >= 1
            assert problem.column >= 1
        return
    assert pack.id
    assert loader.parse(document) == pack, "parsing is deterministic"


# --- the normalizer (screening/normalize.py, C and pure Python) ------------------------------

_STEPS = (  # each costs ~0.5 s of table building, so two: every step on, most off
    Steps(),
    Steps(nfkc=False, casefold=False, format_chars=False, marks=False, t2s=False),
)


@cache
def _normalizers(index: int) -> tuple[Normalizer, Normalizer]:
    steps = _STEPS[index]
    return Normalizer(steps, compiled=True), Normalizer(steps, compiled=False)


def normalizer(data: bytes) -> None:
    """Both implementations agree on text and offsets; offsets lie within the text."""
    index = data[0] % len(_STEPS) if data else 0
    text = _text(data[1:])
    fast, reference = _normalizers(index)
    assert fast.compiled, "the compiled normalizer is built (make install)"
    normalized = reference.normalize(text)
    assert fast.normalize(text) == normalized
    assert reference.normalize(normalized) == normalized, "normalize is idempotent"
    assert fast.utf8(text) == normalized.encode("utf-8", "surrogatepass")
    mapped, expected = fast.map(text), reference.map(text)
    assert mapped.text == expected.text == normalized
    assert list(mapped.starts) == list(expected.starts)
    assert list(mapped.ends) == list(expected.ends)
    assert len(mapped.starts) == len(mapped.ends) == len(normalized)
    previous = 0
    for start, end in zip(mapped.starts, mapped.ends, strict=True):
        assert 0 <= start < end <= len(text), (start, end, len(text))
        assert start >= previous, "spans run forwards"
        previous = start
    halves = [text[: len(text) // 2], text[len(text) // 2 :], text]
    assert fast.normalize_many(halves) == reference.normalize_many(halves)
    assert fast.normalize_many(halves) == [reference.normalize(t) for t in halves]
    budget = len(text) // 3
    batch, expected_batch = (
        fast.utf8_batch(halves, 0, budget),
        reference.utf8_batch(halves, 0, budget),
    )
    assert batch[0] == expected_batch[0]
    assert list(batch[1]) == list(expected_batch[1])
    assert batch[2] == expected_batch[2]


# --- identity documents (identity/documents) -------------------------------------------------


def documents(data: bytes) -> None:
    """Each document type: a DocumentError or a normalised value that validates again."""
    names = sorted(TYPES)
    kind = TYPES[names[data[0] % len(names)]] if data else TYPES[names[0]]
    number = _text(data[1:])
    module: Any = kind.module  # cn.ric and mrz.td3 take ``today`` beyond the protocol
    extra = {"today": TODAY} if kind.name in {"cn.ric", "mrz.td3"} else {}
    valid = module.is_valid(number, **extra)
    assert isinstance(valid, bool)
    try:
        value = module.validate(number, **extra)
    except DocumentError as exc:
        assert not valid, "is_valid and validate agree"
        assert exc.reason
        assert exc.message
        return
    assert valid, "is_valid and validate agree"
    assert isinstance(value, str)
    assert module.validate(value, **extra) == value, "validate is idempotent"
    printed = kind.format(value)
    assert module.validate(printed, **extra) == value, "the printed form validates"
    assert kind.compact(value) == kind.compact(printed)


# --- signed notes and checkpoints (records/note.py) ------------------------------------------

_SIGNER = note.NoteSigner("fuzz.example/log", Ed25519PrivateKey.from_private_bytes(bytes(32)))


def signed_note(data: bytes) -> None:
    """Any bytes as a signed note, a checkpoint body and a key string."""
    verifier = _SIGNER.verifier
    try:
        opened = note.open_note(data, [verifier])
    except note.NoteError:
        pass
    else:
        assert opened.signers == (verifier,)
        assert data.startswith(opened.body)
    try:
        checkpoint = note.Checkpoint.parse(data)
    except note.NoteError:
        pass
    else:
        assert checkpoint.body() == data, "a strictly parsed checkpoint is in canonical form"
        signed = _SIGNER.sign(checkpoint.body())
        assert note.open_checkpoint(signed, [verifier]) == checkpoint
    try:
        key = note.parse_verifier_key(_text(data))
    except note.NoteKeyError:
        pass
    else:
        assert note.parse_verifier_key(key.key_string()).key_id == key.key_id
    text = _text(data)
    if text.endswith("\n"):
        try:
            signed = _SIGNER.sign(text.encode("utf-8", "surrogatepass"))
        except note.NoteError:
            return
        assert note.open_note(signed, [verifier]).body == text.encode("utf-8")


# --- the server inventory CSV (compliance/inventory_csv.py) ----------------------------------


def inventory_import(data: bytes) -> None:
    """Any bytes as an uploaded inventory: servers, or InvalidInput naming lines."""
    try:
        servers = inventory_csv.read(data)
    except InvalidInput as exc:
        if isinstance(exc, SourceError):
            assert exc.problems
            assert len(exc.problems) <= inventory_csv.MAX_PROBLEMS + 1
        return
    assert 0 < len(servers) <= inventory_csv.MAX_ROWS
    assert len({server.name for server in servers}) == len(servers), "names are unique"
    exported = inventory_csv.write(servers).encode("utf-8")
    assert inventory_csv.read(exported) == servers, "an exported file imports unchanged"


TARGETS: dict[str, Target] = {
    "rule_file": rule_file,
    "ruleset_archive": ruleset_archive,
    "terms_file": terms_file,
    "policy_pack": policy_pack,
    "normalizer": normalizer,
    "documents": documents,
    "signed_note": signed_note,
    "inventory_import": inventory_import,
}
