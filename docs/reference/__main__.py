"""``python -m docs.reference``: rewrite the generated reference pages (``--check``: only
say which are stale, exit 1 if any)."""

from __future__ import annotations

import sys

from docs.reference.build import stale, write_all


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        paths = stale()
        for path in paths:
            print(f"stale: {path} (run `make docs`)")
        return 1 if paths else 0
    if argv:
        print("usage: python -m docs.reference [--check]", file=sys.stderr)
        return 2
    for path in write_all():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
