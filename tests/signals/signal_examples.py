"""One example per registered signal, which the contract test runs it on.

A signal registered in ``trustdesk.signals.registry`` needs an entry in :data:`EXAMPLES`
(its name -> a function building its :class:`Example`), or the contract test fails for it.
Examples generate their content here (no media, no bank content is shipped).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trustdesk.policy.service import PackRegistry
from trustdesk.screening.engine import compile_screener
from trustdesk.screening.sources import load_ruleset
from trustdesk.signals.contract import Content, Entries, Entry, Kind

CAP = 3  # the limit the contract test searches with; ``crowded`` must match more often


@dataclass(frozen=True)
class Example:
    """What a signal must do: index ``source``; find ``planted`` (a rule id or a bank
    entry id) in ``found`` and in each of ``alike``; find nothing in ``clean``; match
    ``crowded`` more than :data:`CAP` times."""

    source: object
    found: Content
    planted: str
    clean: Content
    crowded: Content
    alike: tuple[Content, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Workshop:
    """What an example may need to build its source."""

    folder: Path
    packs: PackRegistry


TERMS_RULES = """\
rules:
  - id: planted-rule
    category: art6.8
    action: block
    terms: [online casino, 网上赌场]
"""


def text_terms(workshop: Workshop) -> Example:
    (workshop.folder / "rules.yaml").write_text(TERMS_RULES, encoding="utf-8")
    screener = compile_screener(load_ruleset(workshop.folder, workshop.packs.all()))[0]
    return Example(
        source=screener,
        found=Content(Kind.TEXT, text="join our ＯＮＬＩＮＥ CASINO tonight"),
        planted="planted-rule",
        clean=Content(Kind.TEXT, text="see you at the meeting, 今天天气很好"),
        crowded=Content(Kind.TEXT, text="网上赌场 " * 20),
        alike=(Content(Kind.TEXT, text="网上赌场"),),
    )


def file_digest(name: str, algorithm: str) -> Callable[[Workshop], Example]:
    def example(_: Workshop) -> Example:
        planted, crowd = b"\x89PNG planted upload", b"crowded upload"
        digest = hashlib.new(algorithm, planted).hexdigest()
        crowd_digest = hashlib.new(algorithm, crowd).hexdigest()
        entries = (
            Entry("known-bad", "planted-entry", digest.upper()),  # any case is canonicalised
            Entry("known-bad", "other", hashlib.new(algorithm, b"other").hexdigest()),
            *(Entry(f"bank-{n}", f"crowd-{n}", crowd_digest) for n in range(CAP + 2)),
        )
        return Example(
            source=Entries(entries),
            found=Content(Kind.FILE, data=planted),
            planted="planted-entry",
            clean=Content(Kind.FILE, data=b"an upload no bank holds"),
            crowded=Content(Kind.VIDEO, data=crowd),
            alike=(
                Content(Kind.IMAGE, data=planted),
                Content(Kind.IMAGE, hashes={name: f" {digest.upper()} "}),  # sent, not media
            ),
        )

    return example


EXAMPLES: dict[str, Callable[[Workshop], Example]] = {
    "text.terms": text_terms,
    "file.sha256": file_digest("file.sha256", "sha256"),
    "file.md5": file_digest("file.md5", "md5"),
}
