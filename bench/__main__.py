"""Run the benchmarks and write each one's figures to ``bench/results/<name>.json``.

    python -m bench            # all of them
    python -m bench foundation # only the named ones
    python -m bench load --backend sqlite --max-concurrency 8   # one, with its own options

Each benchmark is a module ``bench/<name>.py`` (or package) with ``run() -> dict``; one that
takes options has ``run(argv)``, and gets the arguments after its name.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS = (
    "foundation",
    "records",
    "screening",
    "identity",
    "console",
    "rulesets",
    "scan",
    "rescan",
    "consume",
    "door",
    "load",
    "signals_media",
    "backup",
    "signals_links",
    "signals",
    "bank_indexes",
)
# load: minutes long, and starts servers; signals: ten million hashes, GBs and minutes.
# Each runs only when named.
OPTIONAL = ("load", "signals")
RESULTS = Path(__file__).with_name("results")


def main(argv: list[str]) -> int:
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:split], argv[split:]
    if options and len(names) != 1:
        print("options follow exactly one benchmark's name")
        return 2
    names = names or [n for n in BENCHMARKS if n not in OPTIONAL]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    RESULTS.mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        figures = module.run(options) if options else module.run()
        document = {
            "benchmark": name,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "processor": platform.machine()},
            "figures": figures,
        }
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(document, indent=2))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
