"""Repetition and diversity: distinct-n, repeated 4-gram rate, and over-used phrases.

Each is compared with the person's own text at matched length, because all of them move
with the amount of text: a longer pool has fewer distinct n-grams and more repeats.
"""

from __future__ import annotations

from collections import Counter

from doppel.metrics.text import ngrams, take_words, tokenized, total_words


def distinct_n(token_lists: list[list[str]], n: int) -> float:
    """Unique n-grams ÷ all n-grams over the pool (0.0 when there are none)."""
    grams = [g for toks in token_lists for g in ngrams(toks, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repeated_ngram_rate(token_lists: list[list[str]], n: int = 4) -> float:
    """Share of n-gram occurrences whose n-gram occurs more than once in the pool."""
    counts = Counter(g for toks in token_lists for g in ngrams(toks, n))
    total = sum(counts.values())
    return sum(c for c in counts.values() if c > 1) / total if total else 0.0


def _ratio(value: float, reference: float) -> float | None:
    return round(value / reference, 4) if reference > 0 else None


def diversity_report(texts: list[str], person_texts: list[str]) -> dict:
    """distinct-1/2 and repeated 4-gram rate of `texts` and of the person's text, at matched length.

    Both pools are cut to the word count of the shorter one, so the ratios compare like
    with like; a ratio of 1.0 means "as varied (or as repetitive) as the person".
    """
    out, ref = tokenized(texts), tokenized(person_texts)
    length = min(total_words(out), total_words(ref))
    out, ref = take_words(out, length), take_words(ref, length)
    row = {"matched_words": length}
    for name, fn in (("distinct_1", lambda t: distinct_n(t, 1)), ("distinct_2", lambda t: distinct_n(t, 2)),
                     ("rep4", lambda t: repeated_ngram_rate(t, 4))):
        value, person = fn(out), fn(ref)
        row[name] = round(value, 4)
        row[f"person_{name}"] = round(person, 4)
        row[f"{name}_ratio"] = _ratio(value, person)
    return row


def overused_phrases(texts: list[str], person_texts: list[str], sizes: tuple[int, ...] = (1, 2, 3),
                     min_count: int = 3, top: int = 10) -> list[dict]:
    """Word n-grams used far more often in `texts` than in the person's text.

    rate = occurrences per 1,000 words; the person's count gets +0.5 so a phrase the
    person never says has a finite, large ratio. Only phrases seen at least `min_count`
    times in at least two different texts count: one runaway answer is repetition, not a tic.
    """
    out, ref = tokenized(texts), tokenized(person_texts)
    out_words, ref_words = max(1, total_words(out)), max(1, total_words(ref))
    found = []
    for n in sizes:
        counts = Counter(g for toks in out for g in ngrams(toks, n))
        spread = Counter(g for toks in out for g in set(ngrams(toks, n)))
        person = Counter(g for toks in ref for g in ngrams(toks, n))
        for gram, count in counts.items():
            if count < min_count or spread[gram] < 2:
                continue
            rate = 1000.0 * count / out_words
            person_rate = 1000.0 * (person.get(gram, 0) + 0.5) / ref_words
            found.append({"phrase": " ".join(gram), "count": count, "rate_per_1k": round(rate, 2),
                          "person_rate_per_1k": round(1000.0 * person.get(gram, 0) / ref_words, 2),
                          "ratio": round(rate / person_rate, 2)})
    # On equal ratios the longer phrase comes first, so its parts are folded into it below.
    found.sort(key=lambda f: (-f["ratio"], -f["count"], -f["phrase"].count(" "), f["phrase"]))
    # A longer phrase already listed explains its parts: keep the list readable.
    kept: list[dict] = []
    for f in found:
        if not any(f["phrase"] in k["phrase"].split(" ") or f" {f['phrase']} " in f" {k['phrase']} "
                   for k in kept):
            kept.append(f)
        if len(kept) >= top:
            break
    return kept
