"""Held-out split by document: no document contributes to both training and held-out data."""

from __future__ import annotations

import hashlib
import math

from doppel.records import Document


def _rank(seed: int, doc_id: str) -> str:
    return hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()


def heldout_ids(docs: list[Document], fraction: float, seed: int) -> set[str]:
    """Pick held-out documents deterministically, separately among transcripts and prose.

    Each group with at least two documents gives at least one to the held-out set, so
    both held-out text and held-out dialogues exist whenever the corpus has both kinds.
    """
    held: set[str] = set()
    groups = ([d for d in docs if d.turns], [d for d in docs if not d.turns])
    for group in groups:
        if len(group) < 2:
            continue
        n = min(len(group) - 1, max(1, math.floor(fraction * len(group) + 0.5)))
        ranked = sorted(group, key=lambda d: _rank(seed, d.id))
        held.update(d.id for d in ranked[:n])
    return held
