"""What every rung of the ladder is measured on, and the scoring and samples common to all rungs.

The eval stage (transformers models) and the eval_gguf stage (exported GGUF files) both read
their inputs here, so every rung answers the same held-out questions, is scored on the same
text, and is compared with the person by the same metrics.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from doppel.config import EvalConfig, PersonaConfig
from doppel.evaluate import scoring
from doppel.evaluate.ladder import ModelRun
from doppel.metrics.identity import Probe, probe_set
from doppel.metrics.likeness import LADDER, likeness_half
from doppel.records import Document, Example, TextChunk, read_jsonl
from doppel.workspace import Workspace, atomic_write_jsonl

DELTA_REFERENCE_WORDS = 60_000


def spread(items: list, n: int) -> list:
    """An evenly spread, fixed selection of n items (dialogues, text chunks)."""
    if n <= 0 or not items:
        return []
    step = max(1, len(items) // n)
    return items[::step][:n]


def at_most(items: list, n: int) -> list:
    """All items, or an evenly spread selection of `n` when n > 0 and there are more."""
    return spread(items, n) if 0 < n < len(items) else items


@dataclass
class Inputs:
    chunks: list[TextChunk]  # the person's held-out text
    dialogues: list[Example]  # every held-out dialogue
    held: list[Example]  # the held-out questions every model answers
    train: list[Example]  # the person's training dialogues
    classifier_examples: list[Example]  # training questions for the person-likeness classifier
    probes: list[Probe]
    perplexity_texts: int = 0  # eval.perplexity_texts: at most this many chunks scored (0: all)
    perplexity_dialogues: int = 0

    @property
    def texts(self) -> list[str]:
        """The held-out text the perplexity is taken on."""
        return [c.full_text() for c in at_most(self.chunks, self.perplexity_texts)]

    @property
    def conversations(self) -> list[list[dict]]:
        """The held-out dialogues whose answers' perplexity is taken."""
        return [[m.model_dump() for m in ex.messages] for ex in at_most(self.dialogues, self.perplexity_dialogues)]

    @property
    def questions(self) -> list[str]:
        return [ex.messages[-2].content for ex in self.held]

    @property
    def references(self) -> list[str]:
        return [ex.messages[-1].content for ex in self.held]

    @property
    def train_answers(self) -> list[str]:
        return [ex.messages[-1].content for ex in self.train]


def perplexity_counts(inputs: Inputs) -> dict:
    """How many held-out texts and dialogues the perplexities were taken on (results.json)."""
    return {"perplexity_texts": len(inputs.texts), "perplexity_dialogues": len(inputs.conversations)}


def load_inputs(cfg: EvalConfig, persona: PersonaConfig, ws: Workspace) -> Inputs:
    dialogues = read_jsonl(ws.data / "heldout" / "dialogues.jsonl", Example)
    train_path = ws.data / "sft" / "train.jsonl"
    train = read_jsonl(train_path, Example) if train_path.exists() else []
    # The classifier's person side: her answers in the ladder's half only (the RL reward learns from the other).
    ladder_half = [ex for ex in train if likeness_half(ex.messages[-1].content) == LADDER]
    return Inputs(read_jsonl(ws.data / "heldout" / "text.jsonl", TextChunk), dialogues,
                  spread(dialogues, cfg.questions), train, spread(ladder_half, cfg.classifier_questions),
                  probe_set(persona.name) if cfg.identity_probes else [], cfg.perplexity_texts,
                  cfg.perplexity_dialogues)


def delta_reference(ws: Workspace, person_train: list[str], seed: int) -> list[str]:
    """Text in several voices (background + the person's training answers) to standardise word rates."""
    path = ws.corpus / "background.jsonl"
    other = [d.text for d in read_jsonl(path, Document)] if path.exists() else []
    random.Random(seed).shuffle(other)
    out, words = list(person_train), sum(len(t.split()) for t in person_train)
    for text in other:
        if words >= DELTA_REFERENCE_WORDS:
            break
        out.append(text)
        words += len(text.split())
    return out


def score(runs: list[ModelRun], inputs: Inputs, persona: PersonaConfig, clf, ws: Workspace,
          seed: int) -> tuple[dict, dict]:
    """(metric rows, person-likeness distributions) per run label."""
    rows = scoring.score_runs(runs, persona, inputs.references, [c.text for c in inputs.chunks],
                              delta_reference(ws, inputs.train_answers, seed), inputs.probes, clf)
    distributions = {label: row.pop("_likeness_distribution", []) for label, row in rows.items()}
    return rows, distributions


def write_samples(runs: list[ModelRun], held: list[Example], ws: Workspace) -> list:
    """eval/samples/<label>.jsonl per run: question, answer, the person's real answer, round."""
    paths = []
    for r in runs:
        path = ws.eval / "samples" / f"{r.label}.jsonl"
        atomic_write_jsonl(path, [{"id": held[a["q"]].id, "round": a["round"],
                                   "question": held[a["q"]].messages[-2].content, "answer": a["answer"],
                                   "reference": held[a["q"]].messages[-1].content} for a in r.answers])
        paths.append(path)
    return paths


def identity_rows(runs: list[ModelRun], probes: list[Probe]) -> list[dict]:
    from doppel.metrics.identity import bare_probe_set

    rows = [{"model": r.label, "kind": p.kind, "question": p.question, "answer": a, "system_message": True}
            for r in runs for p, a in zip(probes, r.probes)]
    return rows + [{"model": r.label, "kind": p.kind, "question": p.question, "answer": a, "system_message": False}
                   for r in runs for p, a in zip(bare_probe_set(), r.bare_probes)]


def summary_rows(rows: dict) -> dict:
    """The few numbers per model a stage summary prints."""
    return {label: {k: row.get(k) for k in ("heldout_perplexity", "heldout_answer_perplexity", "person_likeness",
                                            "delta", "identity_accuracy", "identity_no_system")}
            for label, row in rows.items()}
