"""The fuzz targets in the normal suite: the corpus, then seeded mutations of it, briefly.

Each target (see ``targets.py``) runs on every file of its checked-in corpus (seeds and the
inputs of crashes found and fixed), then on ``TRUSTDESK_FUZZ_MUTATIONS`` inputs made from
them by a seeded mutator (bytes flipped, inserted, deleted, repeated, spliced), so a run
repeats exactly. ``make fuzz`` runs each target under atheris, coverage-guided, for longer;
one short atheris run here keeps that runner working.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from targets import TARGETS

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
MUTATIONS = int(os.environ.get("TRUSTDESK_FUZZ_MUTATIONS", "150"))
INTERESTING = (
    b"\x00",
    b"\n",
    b"\r\n",
    b"\xff",
    b"\xed\xa0\x80",  # an encoded surrogate
    b"\xe2\x80\x8b",  # zero-width space
    b"\xef\xbb\xbf",  # byte order mark
    b"'",
    b'"',
    b"=",
    b";",
    b",",
    b":",
    b"- ",
    b"&a ",
    b"*a",
    b"{",
    b"[",
    b"\xe2\x80\x94 ",  # the em dash of a note's signature line
    b"9" * 25,
    b"\\",
    b"..",
)


def corpus(name: str) -> list[bytes]:
    folder = CORPUS / name
    return [path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()]


def _mutate_text(text: str, pool: list[bytes], rng: random.Random) -> str:
    """``text`` changed in one to four places, keeping it text (so parsers get past UTF-8)."""
    out = text
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(out))
        choice = rng.randrange(6)
        if choice == 0:  # insert something parsers care about
            out = out[:at] + rng.choice(INTERESTING).decode("utf-8", "replace") + out[at:]
        elif choice == 1:  # delete a run
            out = out[:at] + out[at + rng.randint(1, 16) :]
        elif choice == 2:  # repeat a run
            out = out[:at] + out[at : at + rng.randint(1, 32)] * rng.randint(1, 8) + out[at:]
        elif choice == 3:  # splice in part of another input
            other = rng.choice(pool).decode("utf-8", "replace")
            start = rng.randint(0, len(other))
            out = out[:at] + other[start : start + rng.randint(1, 64)] + out[at:]
        elif choice == 4:  # any character
            out = (
                out[:at] + chr(rng.choice((rng.randrange(0x80), rng.randrange(0x30000)))) + out[at:]
            )
        else:  # swap two lines
            lines = out.split("\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            out = "\n".join(lines)
    return out


def _mutate_bytes(data: bytes, pool: list[bytes], rng: random.Random) -> bytes:
    """``data`` changed in one to four places, the way a byte-level fuzzer would."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(out))
        choice = rng.randrange(5)
        if choice == 0 and out:  # flip a bit
            at = min(at, len(out) - 1)
            out[at] ^= 1 << rng.randrange(8)
        elif choice == 1:  # insert something parsers care about
            out[at:at] = rng.choice(INTERESTING)
        elif choice == 2 and out:  # delete a run
            del out[at : at + rng.randint(1, 16)]
        elif choice == 3:  # splice in part of another input
            other = rng.choice(pool)
            start = rng.randint(0, len(other))
            out[at:at] = other[start : start + rng.randint(1, 64)]
        else:  # random bytes
            out[at:at] = rng.randbytes(rng.randint(1, 8))
    return bytes(out)


def mutate(data: bytes, pool: list[bytes], rng: random.Random) -> bytes:
    """A mutation of ``data``: mostly as text where it is text, else byte by byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _mutate_bytes(data, pool, rng)
    if rng.random() < 0.2:
        return _mutate_bytes(data, pool, rng)
    return _mutate_text(text, pool, rng).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_holds_its_contract_on_the_corpus(name: str) -> None:
    target: Callable[[bytes], None] = TARGETS[name]
    seeds = corpus(name)
    assert seeds, f"no corpus for {name}"
    for data in (b"", *seeds):
        target(data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_holds_its_contract_on_seeded_mutations(name: str) -> None:
    target = TARGETS[name]
    seeds = corpus(name)
    rng = random.Random(f"trustdesk-fuzz-{name}")  # noqa: S311 (a repeatable fuzz, no secret)
    for _ in range(MUTATIONS):
        data = mutate(rng.choice(seeds), seeds, rng)
        try:
            target(data)
        except BaseException as exc:
            exc.add_note(f"input: {data!r}")
            raise


def test_atheris_runs_a_target(tmp_path: Path) -> None:
    """The ``make fuzz`` runner: atheris, instrumented, on a corpus, stopping by itself."""
    work = tmp_path / "corpus"
    work.mkdir()
    for path in (CORPUS / "terms_file").iterdir():
        (work / path.name).write_bytes(path.read_bytes())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(HERE / "run.py"), "terms_file", str(work), "-runs=300", "-seed=1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 300 runs" in done.stderr
