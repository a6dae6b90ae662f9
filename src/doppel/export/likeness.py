"""Person-likeness for the parity gate: does a GGUF's answer still sound like the person?

The classifier of `doppel.metrics.likeness` is fitted on the person's training answers
against other voices (the base model's eval answers and background text), and scores the
answers the HF model and each GGUF give to the same held-out questions.
"""

from __future__ import annotations

import json
from typing import Callable

from doppel.records import Document, Example, read_jsonl
from doppel.workspace import Workspace


def _answers(path) -> list[str]:
    if not path.exists():
        return []
    return [ex.messages[-1].content for ex in read_jsonl(path, Example)
            if ex.messages and ex.messages[-1].role == "assistant"]


def _other_voices(ws: Workspace, limit: int = 400) -> list[str]:
    texts: list[str] = []
    samples = ws.eval / "samples" / "base.jsonl"
    if samples.exists():
        for line in samples.read_text(encoding="utf-8").splitlines():
            answer = json.loads(line).get("answer") if line.strip() else None
            if isinstance(answer, str) and answer.strip():
                texts.append(answer)
    background = ws.corpus / "background.jsonl"
    if background.exists():
        for doc in read_jsonl(background, Document):
            texts += [p.strip() for p in doc.text.split("\n\n") if len(p.split()) >= 8]
            if len(texts) >= limit:
                break
    return texts[:limit]


def likeness_scorer(ws: Workspace, seed: int) -> tuple[Callable[[list[str]], float | None] | None, str]:
    """(scorer, note): the scorer maps answers to person-likeness; None with the reason when unavailable."""
    try:
        from doppel.metrics.likeness import PersonClassifier, person_likeness
    except ImportError:
        return None, "not measured: doppel.metrics.likeness is not available"
    person = _answers(ws.data / "sft" / "train.jsonl")
    reference = _answers(ws.data / "heldout" / "dialogues.jsonl") or person
    other = _other_voices(ws)
    if len(person) < 2 or len(other) < 2:
        return None, "not measured: too few person answers or other-voice texts to fit the classifier"
    try:
        clf = PersonClassifier(seed=seed).fit(person, other)
    except ValueError as err:
        return None, f"not measured: {err}"

    def score(texts: list[str]) -> float | None:
        return person_likeness(clf, texts, reference)["person_likeness"]

    return score, f"measured: classifier cross-validated AUC {clf.cv_auc}"
