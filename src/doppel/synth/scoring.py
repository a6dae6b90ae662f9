"""The teacher's rubric grades (voice, faithfulness, answers-the-question) and the threshold filter."""

from __future__ import annotations

import json
import re
from collections import Counter

DIMENSIONS = ("voice", "faithfulness", "answers")
# The reply's shape, for endpoints asked for structured output (teacher.structured_output).
SCORES_SCHEMA = {"type": "object", "properties": {d: {"type": "integer", "enum": [1, 2, 3, 4, 5]} for d in DIMENSIONS},
                 "required": list(DIMENSIONS), "additionalProperties": False}
OBJECT = re.compile(r"\{.*?\}", re.DOTALL)


def parse_scores(text: str) -> dict[str, int] | None:
    """The three grades from a reply holding a JSON object; None when absent or out of range."""
    for blob in OBJECT.findall(text):
        try:
            data = json.loads(blob)
        except ValueError:
            continue
        try:
            scores = {d: int(data[d]) for d in DIMENSIONS}
        except (KeyError, TypeError, ValueError):
            continue
        if all(1 <= v <= 5 for v in scores.values()):
            return scores
    return None


def scores_or_reason(text: str) -> str | None:
    return None if parse_scores(text) else "unparseable_scores"


def verdict(scores: dict[str, int] | None, min_score: int) -> str | None:
    """The drop reason for a graded pair, or None to keep it."""
    if scores is None:
        return "not_scored"
    for d in DIMENSIONS:
        if scores[d] < min_score:
            return f"low_{d}"
    return None


def histograms(all_scores: list[dict[str, int]]) -> dict[str, dict[str, int]]:
    """Per dimension, how many pairs got each grade 1..5."""
    out = {}
    for d in DIMENSIONS:
        c = Counter(s[d] for s in all_scores)
        out[d] = {str(g): c.get(g, 0) for g in range(1, 6)}
    return out
