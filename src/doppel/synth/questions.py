"""Questions for the person: by category and grounded in passages; parsing and de-duplication."""

from __future__ import annotations

import re

from doppel.retrieval import terms

LIST_MARK = re.compile(r"^\s*(?:[-*•]|\(?\d+[.)]|Q\d*[:.])\s*")
# A label a small teacher puts before the question: "Question:", "The answer:", "A:",
# "Write the one interviewer question:", "The question is:".
LABEL = re.compile(r"^\s*(?:[^:?\"]{0,40}?\b(?:question|answer)s?\b[^:?\"]{0,10}|[QA])\s*:\s*", re.IGNORECASE)


def parse_questions(text: str) -> list[str]:
    """Question lines of a teacher reply (numbering and bullets removed)."""
    out = []
    for line in text.splitlines():
        line = LIST_MARK.sub("", line).strip()
        line = LABEL.sub("", line).strip().strip('"“”').strip()
        if line.endswith("?") and len(line.split()) >= 3:
            out.append(line)
    return out


def questions_or_reason(text: str) -> str | None:
    return None if parse_questions(text) else "no_questions"


def single_question(text: str) -> str | None:
    qs = parse_questions(text)
    return qs[0] if qs else None


def question_or_reason(text: str) -> str | None:
    return None if single_question(text) else "not_a_question"


def _norm(q: str) -> str:
    return " ".join(re.findall(r"\w+", q.casefold()))


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of content words: near 1 for rewordings of the same question."""
    ta, tb = set(terms(a)), set(terms(b))
    if not ta or not tb:
        return 1.0 if _norm(a) == _norm(b) else 0.0
    return len(ta & tb) / len(ta | tb)


def dedupe(items: list[dict], threshold: float) -> tuple[list[dict], int]:
    """Keep the first of each group of near-duplicate questions (item["question"])."""
    kept: list[dict] = []
    seen: set[str] = set()
    dropped = 0
    for item in items:
        q = item["question"]
        if _norm(q) in seen or any(similarity(q, k["question"]) >= threshold for k in kept):
            dropped += 1
            continue
        seen.add(_norm(q))
        kept.append(item)
    return kept, dropped
