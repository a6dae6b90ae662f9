"""Phrase and word counts over texts: how often a person's signature phrases are used."""

from __future__ import annotations

import re


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[’‘]", "'", text).casefold().split())


def word_count(texts: list[str]) -> int:
    return sum(len(t.split()) for t in texts)


def phrase_counts(texts: list[str], phrases: list[str]) -> dict[str, int]:
    """Occurrences of each phrase (case-insensitive, whole words) across texts."""
    joined = "\n".join(_norm(t) for t in texts)
    return {p: len(re.findall(r"(?<!\w)" + re.escape(_norm(p)) + r"(?!\w)", joined)) for p in phrases}


def phrase_rate(texts: list[str], phrases: list[str]) -> float:
    """Signature-phrase occurrences per 1,000 words (0.0 for empty input)."""
    words = word_count(texts)
    if not words or not phrases:
        return 0.0
    return 1000.0 * sum(phrase_counts(texts, phrases).values()) / words
