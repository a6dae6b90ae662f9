"""Catch-phrase guard: n-grams far more frequent in generated answers than in the person's text.

A teacher in costume leans on a few words ("friend", "Ah,"). Rates are per 1,000 words; the
ratio uses add-half smoothing on the real count so an n-gram the person never used still
gets a finite, large ratio.
"""

from __future__ import annotations

import re
from collections import Counter

from doppel.config import CatchphraseGuard

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


def words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def ngram_counts(texts: list[str], max_n: int) -> tuple[Counter, int]:
    counts: Counter = Counter()
    total = 0
    for t in texts:
        w = words(t)
        total += len(w)
        for n in range(1, max_n + 1):
            counts.update(" ".join(w[i:i + n]) for i in range(len(w) - n + 1))
    return counts, total


def overused(generated: list[str], real: list[str], cfg: CatchphraseGuard) -> list[dict]:
    """Over-used n-grams with their rates per 1k words, most inflated first."""
    gen, gen_total = ngram_counts(generated, cfg.max_n)
    ref, ref_total = ngram_counts(real, cfg.max_n)
    if not gen_total or not ref_total:
        return []
    found = []
    for gram, count in gen.items():
        if count < cfg.min_count:
            continue
        gen_rate = 1000 * count / gen_total
        real_rate = 1000 * (ref.get(gram, 0) + 0.5) / ref_total
        ratio = gen_rate / real_rate
        if ratio >= cfg.max_ratio:
            found.append({"ngram": gram, "generated_per_1k": round(gen_rate, 3),
                          "real_per_1k": round(1000 * ref.get(gram, 0) / ref_total, 3),
                          "ratio": round(ratio, 2), "count": count})
    found.sort(key=lambda f: (-f["ratio"], f["ngram"]))
    # A longer n-gram made only of flagged pieces adds nothing; keep the shortest forms.
    grams = {f["ngram"] for f in found}
    return [f for f in found if not any(g != f["ngram"] and f" {g} " in f" {f['ngram']} " for g in grams)]


def hits(text: str, grams: list[str]) -> int:
    """Occurrences of any of the n-grams in a text (whole words)."""
    padded = " " + " ".join(words(text)) + " "
    return sum(padded.count(f" {g} ") for g in grams)


def over_limit(text: str, grams: list[str], cfg: CatchphraseGuard) -> bool:
    n = len(words(text)) or 1
    return hits(text, grams) * 100 / n > cfg.max_per_100_words
