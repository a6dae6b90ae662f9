"""Word tokenisation and pooling helpers shared by the text metrics."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)*")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept inside words, punctuation dropped)."""
    return [w.replace("’", "'") for w in _WORD.findall(text.casefold())]


def tokenized(texts: list[str]) -> list[list[str]]:
    return [words(t) for t in texts]


def total_words(token_lists: list[list[str]]) -> int:
    return sum(len(t) for t in token_lists)


def take_words(token_lists: list[list[str]], limit: int) -> list[list[str]]:
    """The first `limit` words of a pool, keeping text boundaries (n-grams never cross texts)."""
    out: list[list[str]] = []
    left = limit
    for toks in token_lists:
        if left <= 0:
            break
        out.append(toks[:left])
        left -= len(out[-1])
    return out


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
