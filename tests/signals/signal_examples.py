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

from PIL import ImageOps

from bench.media_samples import encode, scene, video
from trustdesk.policy.service import PackRegistry
from trustdesk.screening.engine import compile_screener
from trustdesk.screening.sources import load_ruleset
from trustdesk.signals.contract import Content, Entries, Entry, Kind
from trustdesk.signals.media.images import hash_image
from trustdesk.signals.media.video import hash_video

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


def crowd(value: str) -> tuple[Entry, ...]:
    """One value held by more banks than the contract test's limit."""
    return tuple(Entry(f"bank-{n}", f"crowd-{n}", value) for n in range(CAP + 2))


def url_domain(_: Workshop) -> Example:
    entries = (
        Entry("bad-links", "planted-entry", "Casino-Bonus.example."),  # canonicalised
        Entry("bad-links", "host-only", "cdn.other.test"),
        *crowd("crowd.example"),
    )
    return Example(
        source=Entries(entries),
        found=Content(Kind.TEXT, text="win at https://cdn.casino-bonus.example/spin now"),
        planted="planted-entry",
        clean=Content(
            Kind.TEXT,
            text="casino-bonus.example.org, notcasino-bonus.example, other.test, www.example",
        ),
        crowded=Content(Kind.TEXT, text="see crowd.example"),
        alike=(
            Content(Kind.TEXT, text="casino-bonus[.]example"),
            Content(Kind.TEXT, text="请访问ｃａｓｉｎｏ－ｂｏｎｕｓ。ｅｘａｍｐｌｅ领取"),
            Content(Kind.TEXT, text="hxxp://user@CASINO-BONUS.example:80/x"),
        ),
    )


def image_pdq(_: Workshop) -> Example:
    picture = scene(21, 320)
    planted = hash_image(encode(picture)).pdq
    entries = (
        Entry("known-bad", "planted-entry", planted.upper()),
        Entry("known-bad", "other", hash_image(encode(scene(22, 320))).pdq),
        *crowd(hash_image(encode(scene(24, 320))).pdq),
    )
    return Example(
        source=Entries(entries),
        found=Content(Kind.IMAGE, data=encode(picture, "JPEG", quality=70)),
        planted="planted-entry",
        clean=Content(Kind.IMAGE, data=encode(scene(23, 320))),
        crowded=Content(Kind.IMAGE, data=encode(scene(24, 320), "JPEG", quality=80)),
        alike=(
            Content(Kind.IMAGE, data=encode(ImageOps.mirror(picture), "JPEG", quality=85)),
            Content(Kind.IMAGE, data=encode(picture.rotate(90, expand=True))),
            Content(Kind.IMAGE, hashes={"image.pdq": f" {planted.upper()} "}),  # sent, not media
        ),
    )


def video_pdq(_: Workshop) -> Example:
    clip = [(scene(31, 160), 3.0), (scene(32, 160), 3.0)]
    planted = ",".join(f.pdq for f in hash_video(video(clip)).frames)
    crowd_clip = video([(scene(35, 160), 2.0), (scene(36, 160), 2.0)])
    entries = (
        Entry("known-bad", "planted-entry", planted.upper()),
        Entry("known-bad", "other", hash_image(encode(scene(37, 160))).pdq),
        *crowd(",".join(f.pdq for f in hash_video(crowd_clip).frames)),
    )
    return Example(
        source=Entries(entries),
        found=Content(Kind.VIDEO, data=video(clip, size=(192, 144), bit_rate=200_000)),
        planted="planted-entry",
        clean=Content(Kind.VIDEO, data=video([(scene(33, 160), 3.0), (scene(34, 160), 3.0)])),
        crowded=Content(Kind.VIDEO, data=crowd_clip),
        alike=(Content(Kind.VIDEO, hashes={"video.pdq": planted}),),  # sent, not media
    )


EXAMPLES: dict[str, Callable[[Workshop], Example]] = {
    "text.terms": text_terms,
    "file.sha256": file_digest("file.sha256", "sha256"),
    "file.md5": file_digest("file.md5", "md5"),
    "url.domain": url_domain,
    "image.pdq": image_pdq,
    "video.pdq": video_pdq,
}
