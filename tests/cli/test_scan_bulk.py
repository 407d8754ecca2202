"""``trustdesk scan`` at the engine's pace: input read in blocks, forked workers, a fast JSON
path, a start without the rest of the desk. Its output stays what it was."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from array import array
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustdesk.cli import scan as scan_command
from trustdesk.cli import scanblock
from trustdesk.cli.main import app
from trustdesk.policy.service import load_registry
from trustdesk.screening.engine import Screener, compile_screener, steps_of
from trustdesk.screening.normalize import Normalizer
from trustdesk.screening.sources import load_ruleset

from support import clean_environment

runner = CliRunner()
RULES = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [online casino, 赌博]
  - id: lure
    category: art6.10
    action: hold
    patterns: ['加\\s*微\\s*信\\s*\\d{6,}']
"""
# Lines the scan must skip, each with its reason (line numbers are added where they land).
BAD = (
    ("{not json", "not JSON (JSONDecodeError)"),
    ("", "not JSON (JSONDecodeError)"),
    ('{"id": NaN, "text": "a"}', "the id must be a string or an integer"),
    ('{"id": 1e400, "text": "a"}', "the id must be a string or an integer"),
    ('{"id": true, "text": "a"}', "the id must be a string or an integer"),
    ('{"id": "a\\u0000b", "text": "a"}', "the id may not contain NUL characters (U+0000)"),
    ('{"id": "s\\ud800", "text": "a"}', "the id must be Unicode text (it holds a lone surrogate)"),
    ("[" * 100_000 + "]" * 100_000, "not JSON (RecursionError)"),
    ('{"text": "no id"}', "expected an object with an id"),
    ('{"id": 9, "text": 5}', "expected a string 'text' (or 'path')"),
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TRUSTDESK_CACHE_DIR": str(tmp_path / "cache"),
        "TRUSTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "rules.yaml").write_text(RULES, encoding="utf-8")
    return folder


def _scan(source: Path, rules: Path, out: Path, env: dict[str, str], *extra: str) -> str:
    result = runner.invoke(
        app, ["scan", str(source), "--rules", str(rules), "-o", str(out), *extra], env=env
    )
    assert result.exit_code == 0, result.output
    return result.stderr


def _expected(rules: Path, items: list[tuple[object, str]]) -> str:
    """What ``json.dumps(..., ensure_ascii=False)`` of each verdict gives: the format."""
    screener = compile_screener(load_ruleset(rules, load_registry([]).all()))[0]
    lines = []
    for content_id, text in items:
        screening = screener.screen(text)
        verdict = {
            "id": content_id,
            "verdict": str(screening.verdict),
            "findings": [
                {k: getattr(f, k) for k in ("rule", "category", "action", "mode", "start", "end")}
                for f in screening.findings
            ],
            "findings_truncated": screening.truncated,
            "rule_counts": [
                {k: getattr(c, k) for k in ("rule", "category", "action", "mode", "matches")}
                for c in screening.rule_counts
            ],
            "ruleset": screening.ruleset,
        }
        lines.append(json.dumps(verdict, ensure_ascii=False) + "\n")
    return "".join(lines)


def _big_input(path: Path) -> tuple[list[tuple[object, str]], list[str]]:
    """Over three megabytes (several blocks) of items with bad lines among them; the good
    items and the expected reasons, in order."""
    good: list[tuple[object, str]] = []
    reasons: list[str] = []
    lines: list[str] = []
    filler = "今天天气很好 see you at the meeting " * 10
    for n in range(9000):
        if n % 900 == 450:
            bad, reason = BAD[(n // 900) % len(BAD)]
            lines.append(bad)
            reasons.append(f"line {len(lines)}: {reason}")
            continue
        content_id: object = f'm-{n}-é"\\' if n % 3 else n * 10**12  # quoting, big ints
        text = filler + ("online casino" if n % 11 == 0 else "")
        text += "加微信 1234567" if n % 17 == 0 else ""
        text += "赌博 " * 300 if n % 1000 == 7 else ""  # more findings than an item keeps
        lines.append(json.dumps({"id": content_id, "text": text}, ensure_ascii=n % 2 == 0))
        good.append((content_id, text))
    path.write_text("\n".join(lines), encoding="utf-8")  # the last line has no newline
    assert path.stat().st_size > 3 * scan_command.BLOCK_BYTES
    return good, reasons


def test_output_is_json_dumps_of_each_verdict_whatever_the_workers(
    tmp_path: Path, rules: Path, env: dict[str, str]
) -> None:
    source = tmp_path / "in.jsonl"
    good, reasons = _big_input(source)
    expected = _expected(rules, good)
    assert '"findings_truncated": true' in expected  # every kind of verdict is there
    assert '"verdict": "hold"' in expected
    for workers in ("1", "2", "3"):
        out = tmp_path / f"out{workers}.jsonl"
        errors = _scan(source, rules, out, env, "--workers", workers)
        assert out.read_text(encoding="utf-8") == expected, workers
        skipped = [line.removeprefix("skipped ") for line in errors.splitlines() if line]
        assert skipped[:-1] == reasons, workers
        assert skipped[-1] == f"screened {len(good)} item(s); {len(reasons)} bad line(s) skipped"


BAD_IDS = ("broken", "blank", "nan-id", "infinite-id", "bool-id", "nul-id", "surrogate-id")
BAD_IDS += ("deep-nesting", "no-id", "number-text")


@pytest.mark.parametrize(("line", "reason"), BAD, ids=BAD_IDS)
def test_a_malformed_line_is_skipped_with_its_reason_and_the_run_goes_on(
    tmp_path: Path, rules: Path, env: dict[str, str], line: str, reason: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(f'{{"id": 1, "text": "a"}}\n{line}\n{{"id": 2, "text": "赌博"}}\n')
    out = tmp_path / "out.jsonl"
    errors = _scan(source, rules, out, env)
    assert f"line 2: {reason}" in errors
    assert [json.loads(v)["id"] for v in out.read_text(encoding="utf-8").splitlines()] == [1, 2]


def test_integer_ids_beyond_64_bits_stay_exact(
    tmp_path: Path, rules: Path, env: dict[str, str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 123456789012345678901234567890, "text": "online casino"}\n')
    out = tmp_path / "out.jsonl"
    _scan(source, rules, out, env)
    assert out.read_text().startswith('{"id": 123456789012345678901234567890, "verdict": "block"')


def test_scan_starts_without_the_web_app_the_database_layer_or_collections(
    tmp_path: Path, rules: Path, env: dict[str, str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "online casino"}\n')
    out = tmp_path / "out.jsonl"
    probe = (
        "import gc, sys\n"
        "runs = []\n"
        "gc.callbacks.append(lambda phase, _: runs.append(1) if phase == 'start' else None)\n"
        "from trustdesk.cli.launch import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print(sorted(m for m in ('sqlalchemy', 'fastapi', 'starlette', 'trustdesk.app',"
        " 'multiprocessing', 'concurrent.futures.process') if m in sys.modules))\n"
        "print(len(runs))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "scan", str(source), "--rules", str(rules), "-o", str(out)],
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded, collections = done.stdout.split()
    assert loaded == "[]"
    # Imports and loading make objects that live as long as the run: the collector does not
    # walk them while they are made (about 170 collections before) nor after (frozen).
    assert int(collections) <= 5
    assert json.loads(out.read_text())["verdict"] == "block"
    # Its help is the full command line's help for scan.
    named = "import sys; sys.argv[0] = 'trustdesk'; "
    help_ = ("scan", "-h")
    fast, full = (
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"{named}from trustdesk.cli.{entry} import main; main()",
                *help_,
            ],
            env=clean_environment(**env, COLUMNS="120"),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
        for entry in ("launch", "main")
    )
    assert "Usage: trustdesk scan [OPTIONS]" in fast
    assert "--workers" in fast
    assert fast == full


def test_a_database_out_of_reach_is_still_reported_as_unavailable() -> None:
    """The command line recognises SQLAlchemy's OperationalError without importing it up
    front (scan never loads SQLAlchemy): a command that opens the database still says so."""
    closed = "postgresql+psycopg://trustdesk@127.0.0.1:1/desk?connect_timeout=5"  # port 1
    result = runner.invoke(app, ["db", "upgrade", "--db", closed])
    assert result.exit_code == 3, result.output
    assert "database unavailable" in result.stderr


# Lines the compiled parser takes and lines it leaves to Python, good ones and bad: the
# output and the reasons are what json gives either way.
UNUSUAL = [
    b'{"id": "a", "text": "hello"}',
    b'  { "text" : "\\u8d4c\\u535a \\ud83d\\ude00 \\"q\\" \\\\ \\/ \\n" , "id" : -12 }  \r',
    b'{"text": "online casino", "id": "\xc3\xa9\xe4\xb8\xad"}',
    b'{"id": 3, "text": "\xef\xbd\x8f\xef\xbd\x8e\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x8e\xef\xbd\x85'
    b' casino \xf0\x9f\x98\x80 \xe5\x8a\xa0 \xe5\xbe\xae \xe4\xbf\xa1 123456"}',
    b'{"id": "on\\u006cine", "text": "on\\u006cine casino"}',
    b'{"id": 1, "text": "a", "meta": {"x": [1, 2]}}',
    b'{"id": 1, "id": 2, "text": "\xe8\xb5\x8c . \xe5\x8d\x9a"}',
    b'{"id": -0, "text": "a"}',
    b'{"id": 12345678901234567890123, "text": "a"}',
    b'{"id": "q\\"x\\\\", "text": "a\\u0000b"}',
    b'{"id": 1, "text": "\\ud800 online casino"}',
    b'{"id": 2, "text": "\xed\xa0\x80 \xe8\xb5\x8c\xe5\x8d\x9a"}',
]
UNUSUAL_BAD = [
    (b'{"id": 1.0, "text": "a"}', "the id must be a string or an integer"),
    (b'{"id": 1, "text": "\xc0\xaf"}', "not JSON (UnicodeDecodeError)"),
    (b'{"id": 1, "text": "\xff"}', "not JSON (UnicodeDecodeError)"),
    (b'{"id": 1, "text": "a\tb"}', "not JSON (JSONDecodeError)"),
    (b'{"id": 1, "text": "a"} x', "not JSON (JSONDecodeError)"),
    (b'{"id": 1, "text": "a"', "not JSON (JSONDecodeError)"),
]


def test_unusual_lines_give_what_json_gives(
    tmp_path: Path, rules: Path, env: dict[str, str]
) -> None:
    lines = [*UNUSUAL, *(line for line, _ in UNUSUAL_BAD)]
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    errors = _scan(source, rules, out, env)
    items = [json.loads(line) for line in UNUSUAL]
    assert out.read_text(encoding="utf-8") == _expected(
        rules, [(item["id"], item["text"]) for item in items]
    )
    assert '"verdict": "block"' in out.read_text(encoding="utf-8")
    skipped = [line.removeprefix("skipped ") for line in errors.splitlines() if line][:-1]
    assert skipped == [
        f"line {len(UNUSUAL) + n}: {reason}" for n, (_, reason) in enumerate(UNUSUAL_BAD, 1)
    ]


@pytest.mark.parametrize("block", [1, 29, 30, 31, 64, 1000])
def test_blocks_end_anywhere_and_lines_keep_their_numbers(
    tmp_path: Path,
    rules: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    block: int,
) -> None:
    """Blocks of a few bytes: lines longer than a block, blocks ending right at a newline (the
    first line is 30 bytes with its newline), a last line without one. One process or
    several, the output and each skipped line's number are the same."""
    monkeypatch.setattr(scan_command, "BLOCK_BYTES", block)
    lines = ['{"id": 1, "text": "赌博 a"}', "{broken", '{"id": 2, "text": "' + "x" * 90 + '"}']
    lines += ["", '{"id": 3, "text": "online casino"}', '{"id": 4}', '{"id": 5, "text": "b"}']
    assert len(lines[0].encode()) + 1 == 30
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines), encoding="utf-8")
    good = [(json.loads(line)["id"], json.loads(line)["text"]) for line in lines if "text" in line]
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        errors = _scan(source, rules, out, env, "--workers", workers)
        assert out.read_text(encoding="utf-8") == _expected(rules, good), workers
        skipped = [line.removeprefix("skipped ") for line in errors.splitlines() if line][:-1]
        assert skipped == [
            "line 2: not JSON (JSONDecodeError)",
            "line 4: not JSON (JSONDecodeError)",
            "line 6: expected a string 'text' (or 'path')",
        ], workers


def test_the_compiled_path_and_the_python_one_write_the_same_bytes_and_reasons(
    tmp_path: Path, rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block screened with the compiled parser and renderer, and with the pure-Python
    normalizer (no C path: every line through json and _Lines), on odd JSON: escapes,
    surrogates, non-object lines, duplicate keys, huge numbers, invalid UTF-8, a line over
    the limit, hits of every kind; in full and as the whole lines of a longer read."""
    source = load_ruleset(rules, load_registry([]).all())
    compiled = compile_screener(source)[0]
    normalizer = Normalizer(steps_of(source), compiled=False)
    reference = Screener.__new__(Screener)
    vars(reference).update(
        vars(compiled), _normalizer=normalizer, _utf8=normalizer.utf8, _locate=normalizer.locate
    )
    odd = [
        b"[1, 2]",
        b'"just a string"',
        b"null",
        b'{"id": 1, "text": "a", "text": "online casino"}',
        b'{"id": 99999999999999999999999999999999999999, "text": "\\u8d4c\\u535a"}',
        b'{"id": 1e5, "text": "a"}',
        b'{"id": "\\udc00", "text": "a"}',
        b'{"id": "x", "text": "\\udc00\\ud800 online casino"}',
        b'{"id": "\xe4\xb8", "text": "a"}',
        b'{"id": "y", "text": "' + "赌博 ".encode() * 300 + b'"}',
        b'{"id": "z", "text": "' + b"x" * 5000 + b'"}',  # over the limit set below
    ]
    lines = [*UNUSUAL, *(line for line, _ in UNUSUAL_BAD), *odd]
    lines += [
        json.dumps({"id": n, "text": f"{n} online casino 加微信 123456"}).encode() for n in range(9)
    ]
    data = b"\n".join(lines) + b"\n"
    monkeypatch.setattr(scanblock, "MAX_LINE", 4000)
    answers = []
    for screener in (compiled, reference):
        scanblock.use(screener)
        whole = scanblock.screen_block(7, data, str(tmp_path), 100)
        part = scanblock.screen_block(7, data + b'{"id": 1, "te', str(tmp_path), 100, len(data))
        assert part == whole
        answers.append(whole)
    assert answers[0] == answers[1]
    text, errors, good = answers[0]
    assert good + len(errors) == len(lines)
    assert text.count(b"\n") == good
    assert b'"verdict": "block"' in text
    assert b'"findings_truncated": true' in text
    assert (7 + lines.index(odd[8]), "not JSON (UnicodeDecodeError)") in errors
    assert (7 + lines.index(odd[-1]), "not JSON (JSONDecodeError)") in errors  # over the limit


def test_render_refuses_what_it_cannot_place() -> None:
    """The compiled renderer's arguments come from scanblock, but it checks them: a negative
    index (once read as its "past the end" or "failed" marks), a pair of the wrong shape, an
    id beyond the block each raise instead of writing or failing without an exception."""
    render = importlib.import_module("trustdesk.screening._cfold").render
    block = b'{"id": 1, "text": "a"}\n'
    items = array("q", [0, 7, 8, 18, 21]).tobytes()
    assert render(block, items, b"}", [], []) == b'{"id": 1}\n'
    assert render(block, items, b"}", [(0, b', "x": 2}')], []) == b'{"id": 1, "x": 2}\n'
    for hits, others in (([(-2, b"}")], []), ([], [(-1, b"x")]), ([(0, "}")], []), ([1], [])):
        with pytest.raises((TypeError, ValueError)):
            render(block, items, b"}", hits, others)
    beyond = array("q", [0, 7, 99, 18, 21]).tobytes()
    with pytest.raises(ValueError, match="beyond the block"):
        render(block, beyond, b"}", [(0, b"}")], [])
