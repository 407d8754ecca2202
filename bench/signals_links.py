"""Links found per second in mixed text, and the plain lookups behind url.domain and file.*.

    python -m bench signals_links

A seeded corpus of 2,000 messages (70% Chinese or mixed, 30% English; a third hold one or
two links, written plainly, with a scheme, full-width, with obfuscated dots, as IDN); the
worst shapes of the hostile tests at 200,000 characters; a domain index of 100,000 entries
probed with hosts of 2-12 labels; an exact-hash set of 100,000 SHA-256. One process, one
core; the figures are for comparison on the machine at hand, not absolute.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from functools import partial

from trustdesk.signals.links import find_links
from trustdesk.signals.lookup import DomainIndex, ExactHashes

SEED = 16
CHINESE = "请访问我们的网站领取奖金欢迎光临今天优惠活动马上注册立即参与"
ENGLISH = "claim your free bonus today at our site and join the lucky draw now".split()  # noqa: SIM905
LINKS = [
    "casino-bonus{n}.example",
    "https://www.free-money{n}.test/win?id={n}",
    "ｗｗｗ．ｌｕｃｋｙ{n}．ｅｘａｍｐｌｅ",
    "lucky{n}[.]test/claim",
    "bonus{n}。example",
    "http://例子{n}.中国/x",
    "win{n}.casino-bonus.co.uk",
]


def corpus(count: int = 2000) -> list[str]:
    rng = random.Random(SEED)  # noqa: S311 - a reproducible corpus, not a secret
    messages = []
    for _ in range(count):
        if rng.random() < 0.7:
            words = [
                "".join(rng.choices(CHINESE, k=rng.randint(2, 8)))
                for _ in range(rng.randint(3, 30))
            ]
            joiner = "" if rng.random() < 0.6 else " "
        else:
            words = rng.choices(ENGLISH, k=rng.randint(5, 50))
            joiner = " "
        if rng.random() < 1 / 3:
            for _ in range(rng.randint(1, 2)):
                link = rng.choice(LINKS).format(n=rng.randint(0, 999))
                words.insert(rng.randint(0, len(words)), link)
        messages.append(joiner.join(words))
    return messages


def _seconds(function: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def _extraction() -> dict[str, float]:
    messages = corpus()
    find_links("warm.example")  # loads the suffix list once
    found = sum(len(find_links(message).links) for message in messages)
    seconds = _seconds(lambda: [find_links(message) for message in messages])
    characters = sum(map(len, messages))
    return {
        "messages": len(messages),
        "mean_characters": round(characters / len(messages), 1),
        "links_found": found,
        "messages_per_second": round(len(messages) / seconds),
        "links_per_second": round(found / seconds),
        "microseconds_per_message": round(seconds / len(messages) * 1e6, 1),
        "characters_per_second": round(characters / seconds),
    }


def _hostile() -> dict[str, float]:
    shapes = {
        "a_dot": "a." * 100_000,
        "dots": "." * 200_000,
        "schemes": "http://" * 28_571,
        "cjk_dot": "中." * 100_000,
        "bracket_dots": "a[.]" * 50_000,
    }
    return {
        f"{name}_ms_per_200k_characters": round(_seconds(partial(find_links, text)) * 1e3, 1)
        for name, text in shapes.items()
    }


def _lookups() -> dict[str, float]:
    rng = random.Random(SEED)  # noqa: S311 - a reproducible corpus, not a secret
    domains: DomainIndex[int] = DomainIndex()
    started = time.perf_counter()
    for number in range(100_000):
        domains.add(f"site{number}.casino-bonus{number % 97}.example", number)
    add_seconds = time.perf_counter() - started
    hosts = [
        ".".join(
            ["w"] * rng.randint(0, 10) + [f"site{rng.randint(0, 199_999)}.casino-bonus1.example"]
        )
        for _ in range(20_000)
    ]
    domain_seconds = _seconds(lambda: [domains.lookup(host) for host in hosts])
    hashes: ExactHashes[int] = ExactHashes("file.sha256")
    digests = [hashlib.sha256(number.to_bytes(8, "big")).hexdigest() for number in range(100_000)]
    for number, digest in enumerate(digests):
        hashes.add(digest, number)
    probes = digests[::5] + [hashlib.sha256(b"x%d" % n).hexdigest() for n in range(20_000)]
    hash_seconds = _seconds(lambda: [hashes.lookup(digest) for digest in probes])
    return {
        "domain_entries": len(domains),
        "domain_adds_per_second": round(len(domains) / add_seconds),
        "domain_lookups_per_second": round(len(hosts) / domain_seconds),
        "hash_entries": len(hashes),
        "hash_lookups_per_second": round(len(probes) / hash_seconds),
    }


def run() -> dict[str, object]:
    return {"extraction": _extraction(), "hostile": _hostile(), "lookups": _lookups()}
