"""Run one fuzz target under atheris (libFuzzer), coverage-guided.

    python tests/fuzz/run.py TARGET [CORPUS_DIR ...] [libFuzzer flags: -runs=N -seed=N
                                                      -max_total_time=S -max_len=N ...]
    python tests/fuzz/run.py --list

libFuzzer writes new inputs into the first corpus folder and only reads the others.

trustdesk's modules are instrumented for coverage; a crash (an exception other than the
target's documented errors, or a broken invariant) stops the run and writes the input to
``crash-<sha1>`` in the working directory (``-artifact_prefix=`` moves it). ``make fuzz``
runs every target for ``FUZZ_SECONDS`` each with the checked-in corpus as seeds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The normalizer's tables are built in Python loops over every code point: instrumented,
# building them would take minutes, and they are data, not code paths worth guiding.
with atheris.instrument_imports(include=["trustdesk"], exclude=["trustdesk.screening.normtables"]):
    import targets


def main() -> None:
    if sys.argv[1:] == ["--list"]:
        print("\n".join(targets.TARGETS))
        return
    if len(sys.argv) < 2 or sys.argv[1] not in targets.TARGETS:
        names = ", ".join(targets.TARGETS)
        sys.exit(f"usage: run.py TARGET [corpus dirs] [libFuzzer flags]; targets: {names}")
    target = targets.TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
