"""Normalization figures: µs per message for ``Normalizer`` (compiled, then pure Python)
against CPython's NFKC alone.

    python -m bench.normalize_probe

The corpus is generated (seeded): 20-500 characters, 70% Chinese or mixed Chinese/English
(common characters by a Zipf-like weight, full-width punctuation, numbers, emoji, 15% of them
converted to Traditional by OpenCC s2t), 30% English.
"""

from __future__ import annotations

import json
import random
import time
import unicodedata
from collections.abc import Callable, Sequence

import opencc

from trustdesk.screening.normalize import Normalizer

COMMON = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能"
    "对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前"
    "面又定见只主没公从已动两长知民样现本工关向高意声些头实点把第新正物被开明通相问力理尔走因女战"
    "车次全外给真西情想手少老门路比先便位最候间感重回水常白信让直机加更部收打电话号码微网赌场百家"
    "乐代理免费注册送彩金充值返利"
)
PUNCTUATION = "，" * 30 + "。" * 20 + "！？、：；“”（）" * 2 + "…"  # … in ~1 message in 8
ENGLISH = [
    "the",
    "a",
    "I",
    "to",
    "and",
    "of",
    "you",
    "it",
    "is",
    "in",
    "that",
    "for",
    "this",
    "with",
    "have",
    "on",
    "free",
    "click",
    "here",
    "win",
    "money",
    "online",
    "casino",
    "bonus",
    "fast",
    "good",
    "people",
    "time",
    "very",
    "just",
    "know",
    "what",
    "when",
    "make",
    "about",
    "like",
    "more",
]
EMOJI = ["😀", "👍🏻", "❤️", "🎉", "🙏"]


def _chinese(rng: random.Random, length: int) -> str:
    weights = [1 / (rank + 10) for rank in range(len(COMMON))]
    out: list[str] = []
    while sum(map(len, out)) < length:
        roll = rng.random()
        if roll < 0.835:
            out.append(rng.choices(COMMON, weights)[0])
        elif roll < 0.945:
            out.append(rng.choice(PUNCTUATION))
        elif roll < 0.997:
            word = rng.choice(ENGLISH) if rng.random() < 0.7 else str(rng.randint(0, 99999))
            out.append(word if rng.random() < 0.5 else f" {word} ")
        else:
            out.append(rng.choice(EMOJI))
    return "".join(out)[:length]


def _english(rng: random.Random, length: int) -> str:
    out: list[str] = []
    while sum(map(len, out)) < length:
        word = rng.choice(ENGLISH)
        word = word.capitalize() if rng.random() < 0.1 else word
        out.append(word + rng.choice([" "] * 6 + [", ", ". ", "! "]))
    return "".join(out)[:length].strip()


def corpus(count: int = 2000, seed: int = 4) -> list[str]:
    """Messages of 20-500 characters, deterministic for a seed."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not a secret
    s2t = opencc.OpenCC("s2t")
    messages = []
    for _ in range(count):
        length = rng.randint(20, 500)
        if rng.random() < 0.3:
            messages.append(_english(rng, length))
            continue
        text = _chinese(rng, length)
        messages.append(s2t.convert(text) if rng.random() < 0.15 else text)
    return messages


def _per_message(call: Callable[[], object], count: int, repeat: int = 7) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return round(best / count * 1e6, 2)


def _figures(normalizer: Normalizer, messages: Sequence[str]) -> dict[str, float]:
    count = len(messages)
    return {
        "nfkc_alone": _per_message(
            lambda: [unicodedata.normalize("NFKC", m) for m in messages], count
        ),
        "normalize": _per_message(lambda: [normalizer.normalize(m) for m in messages], count),
        "normalize_many": _per_message(lambda: normalizer.normalize_many(messages), count),
        "utf8": _per_message(lambda: [normalizer.utf8(m) for m in messages], count),
        "map": _per_message(lambda: [normalizer.map(m) for m in messages], count, 3),
    }


def run() -> dict[str, object]:
    start = time.perf_counter()
    normalizer = Normalizer()
    build = round(time.perf_counter() - start, 2)
    messages = corpus()
    chinese = [m for m in messages if not m.isascii()]
    english = [m for m in messages if m.isascii()]
    figures: dict[str, object] = {
        "build_tables_s": build,
        "mean_chars": round(sum(map(len, messages)) / len(messages), 1),
        "compiled": normalizer.compiled,
    }
    for name, chosen in (("", normalizer), ("pure_python_", Normalizer(compiled=False))):
        figures[f"{name}us_per_message_all"] = _figures(chosen, messages)
        figures[f"{name}us_per_message_chinese_mixed"] = _figures(chosen, chinese)
        figures[f"{name}us_per_message_english"] = _figures(chosen, english)
    return figures


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
