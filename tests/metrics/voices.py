"""Constructed texts with known answers: the demo persona's voice and the background voice."""

from __future__ import annotations

import random

from doppel.demo import background, persona


def person_answers(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    turns = persona.interview(rng, list(persona.TOPICS), n, "Mara")
    return [text for speaker, text in turns if speaker == "Mara"][:n]


def other_answers(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    turns = background.interview(rng, list(background.SHARED_TOPICS), n)
    return [text for speaker, text in turns if speaker == "Guest"][:n]


def shuffled_words(texts: list[str], seed: int = 0) -> list[str]:
    """The same words in a random order within each text: vocabulary kept, voice broken."""
    rng = random.Random(seed)
    out = []
    for t in texts:
        w = t.split()
        rng.shuffle(w)
        out.append(" ".join(w))
    return out
