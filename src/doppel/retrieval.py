"""The person's passages most relevant to a question: Okapi BM25 over word tokens.

Used to ground teacher answers in the corpus (synth), by the prompted baseline, and for
grounded serving. Pure Python: a corpus of a person's words is small enough.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter

WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Very common English words carry no topic; dropping them keeps scores about content.
STOPWORDS = frozenset("""a an and are as at be but by did do does for from had has have he her his
i if in into is it its me my no not of on or our she so than that the their them then there
these they this to up was we were what when where which who why will with would you your""".split())


def terms(text: str) -> list[str]:
    return [w for w in WORD.findall(text.casefold()) if w not in STOPWORDS]


class Retriever:
    """BM25 index over passages; `top(query, k)` gives (passage index, score), best first."""

    def __init__(self, passages: list[str], k1: float = 1.5, b: float = 0.75):
        self.passages = list(passages)
        self.k1, self.b = k1, b
        self._tf = [Counter(terms(p)) for p in self.passages]
        self._len = [sum(tf.values()) for tf in self._tf]
        self._avg = (sum(self._len) / len(self._len)) if self._len else 0.0
        df: Counter = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        n = len(self.passages)
        # The "+1" form of IDF stays positive even for terms in most passages.
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._postings: dict[str, list[int]] = {}
        for i, tf in enumerate(self._tf):
            for t in tf:
                self._postings.setdefault(t, []).append(i)

    def scores(self, query: str) -> dict[int, float]:
        """Score of every passage sharing at least one term with the query."""
        out: dict[int, float] = {}
        for t in set(terms(query)):
            idf = self._idf.get(t)
            if idf is None:
                continue
            for i in self._postings[t]:
                f = self._tf[i][t]
                norm = f + self.k1 * (1 - self.b + self.b * self._len[i] / (self._avg or 1.0))
                out[i] = out.get(i, 0.0) + idf * f * (self.k1 + 1) / norm
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """Up to k (index, score) pairs, highest score first; passages with no shared term are left out."""
        if k <= 0:
            return []
        found = self.scores(query)
        return heapq.nlargest(k, found.items(), key=lambda kv: (kv[1], -kv[0]))

    def __len__(self) -> int:
        return len(self.passages)
