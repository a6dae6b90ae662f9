"""Grounded mode: the person's own passages most relevant to the question, in the system prompt.

Facts then come from what the person actually said or wrote (their continued-pretraining
text), found by BM25 (`doppel.retrieval`), instead of from the model's memory alone.
"""

from __future__ import annotations

from pathlib import Path

from doppel.records import TextChunk, read_jsonl

WORDS_PER_PASSAGE = 80


class Grounder:
    def __init__(self, passages: list[str], k: int):
        from doppel.retrieval import Retriever

        self.passages = passages
        self.k = k
        self.retriever = Retriever(passages)

    @classmethod
    def from_run(cls, run_root: Path, k: int) -> "Grounder | None":
        path = Path(run_root) / "data" / "cpt" / "train.jsonl"
        if not path.exists():
            return None
        passages = [c.text for c in read_jsonl(path, TextChunk) if c.text.strip()]
        return cls(passages, k) if passages else None

    def passages_for(self, question: str) -> list[str]:
        return [" ".join(self.passages[i].split()[:WORDS_PER_PASSAGE]) for i, _ in self.retriever.top(question, self.k)]

    def system_prompt(self, system: str, question: str) -> str:
        found = self.passages_for(question)
        if not found:
            return system
        return (system + "\n\nThings you have said before; take facts only from these:\n"
                + "\n".join(f"- {p}" for p in found))
