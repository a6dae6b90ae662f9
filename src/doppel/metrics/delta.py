"""Function-word distance: Burrows' Delta between a pool of texts and the person's profile.

The most frequent words of the person's and the reference texts (mostly function words:
"the", "and", "I", "of") are the features. Each word's relative frequency is turned into a
z-score with the mean and spread measured over equal-sized chunks of the reference pool, and
Delta is the mean absolute z-score difference between a text pool and the person's profile:
0 for the person's own words, larger the further the habits drift. Word order does not enter.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from doppel.metrics.text import tokenized, total_words

MIN_POOL_WORDS = 5000


def _chunks(token_lists: list[list[str]], size: int) -> list[list[str]]:
    flat = [w for toks in token_lists for w in toks]
    return [flat[i:i + size] for i in range(0, len(flat) - size + 1, size)]


def _freqs(tokens: list[str], vocab: list[str]) -> list[float]:
    counts = Counter(tokens)
    n = max(1, len(tokens))
    return [counts[w] / n for w in vocab]


@dataclass
class DeltaProfile:
    vocab: list[str]
    mean: list[float]
    std: list[float]
    person_z: list[float]
    person_words: int

    @classmethod
    def build(cls, person_texts: list[str], reference_texts: list[str], n_words: int = 150,
              chunk_words: int = 500) -> "DeltaProfile":
        """The person's profile; z-scores use chunks of person + reference text (other voices)."""
        person = tokenized(person_texts)
        pool = person + tokenized(reference_texts)
        counts = Counter(w for toks in pool for w in toks)
        chunks = _chunks(pool, chunk_words)
        if len(chunks) < 2:
            chunks = _chunks(pool, max(20, total_words(pool) // 4))
        candidates = [w for w, _ in counts.most_common(n_words)]
        rows = [_freqs(c, candidates) for c in chunks]
        vocab, mean, std = [], [], []
        for j, w in enumerate(candidates):
            col = [r[j] for r in rows]
            mu = sum(col) / len(col) if col else 0.0
            sd = (sum((x - mu) ** 2 for x in col) / max(1, len(col) - 1)) ** 0.5
            if sd > 0:  # a word with no spread cannot be standardised
                vocab.append(w)
                mean.append(mu)
                std.append(sd)
        profile = cls(vocab, mean, std, [], total_words(person))
        profile.person_z = profile._z([w for toks in person for w in toks])
        return profile

    def _z(self, tokens: list[str]) -> list[float]:
        return [(f - m) / s for f, m, s in zip(_freqs(tokens, self.vocab), self.mean, self.std)]

    def delta(self, texts: list[str]) -> dict:
        """Burrows' Delta of the pooled texts; `pooled_words` says how much text it rests on."""
        tokens = [w for toks in tokenized(texts) for w in toks]
        if not tokens or not self.vocab:
            return {"delta": None, "pooled_words": len(tokens), "enough_words": False}
        z = self._z(tokens)
        value = sum(abs(a - b) for a, b in zip(z, self.person_z)) / len(z)
        return {"delta": round(value, 4), "pooled_words": len(tokens),
                "enough_words": len(tokens) >= MIN_POOL_WORDS}
