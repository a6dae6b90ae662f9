"""The eval stage: the persona ladder scored on the same held-out text and questions.

Models: base, base prompted as the person, every trained stage. Metrics: held-out
perplexities, person-likeness, function-word Delta, repetition and diversity, over-used
phrases, identity probes; the LLM judge when an endpoint is configured; human A/B votes
when any have been cast. Writes eval/results.json, eval/samples/, eval/report.html.
"""

from __future__ import annotations

import random

from doppel.config import EvalConfig, PersonaConfig
from doppel.evaluate import ladder, scoring
from doppel.evaluate.report import write_report
from doppel.metrics.identity import probe_set
from doppel.modeling.loading import ModelSource
from doppel.records import Document, Example, TextChunk, read_jsonl
from doppel.workspace import StageResult, Workspace, atomic_write_json, atomic_write_jsonl

DELTA_REFERENCE_WORDS = 60_000


def _questions(dialogues: list[Example], n: int) -> list[Example]:
    """An evenly spread, fixed selection of held-out dialogues."""
    if n <= 0 or not dialogues:
        return []
    step = max(1, len(dialogues) // n)
    return dialogues[::step][:n]


def _delta_reference(ws: Workspace, person_train: list[str], seed: int) -> list[str]:
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


def _samples(run: ladder.ModelRun, held: list[Example]) -> list[dict]:
    return [{"id": held[a["q"]].id, "round": a["round"], "question": held[a["q"]].messages[-2].content,
             "answer": a["answer"], "reference": held[a["q"]].messages[-1].content} for a in run.answers]


def run(cfg: EvalConfig, persona: PersonaConfig, models: list[ModelSource], device: str, seed: int,
        ws: Workspace, teacher=None) -> StageResult:
    chunks = read_jsonl(ws.data / "heldout" / "text.jsonl", TextChunk)
    dialogues = read_jsonl(ws.data / "heldout" / "dialogues.jsonl", Example)
    train_path = ws.data / "sft" / "train.jsonl"
    train = read_jsonl(train_path, Example) if train_path.exists() else []
    texts = [c.full_text() for c in chunks]
    held = _questions(dialogues, cfg.questions)
    references = [ex.messages[-1].content for ex in held]
    clf_examples = _questions(train, cfg.classifier_questions)
    probes = probe_set(persona.name) if cfg.identity_probes else []
    prompter = ladder.Prompter(persona, [ex.messages[-1].content for ex in train], cfg.prompt_examples)

    runs = ladder.answer_ladder(
        models + ladder.later_models(ws.root, models), cfg, prompter, texts,
        [[m.model_dump() for m in ex.messages] for ex in dialogues], [ex.messages[-2].content for ex in held],
        probes, [ex.messages[-2].content for ex in clf_examples], device, seed,
        progress=lambda label: print(f"  eval: scoring and sampling {label}", flush=True))

    base = next((r for r in runs if r.label == "base"), None)
    person_train = [ex.messages[-1].content for ex in clf_examples]
    clf = scoring.fit_classifier(person_train, base.classifier_answers if base else [], seed)
    rows = scoring.score_runs(runs, persona, references, [c.text for c in chunks],
                              _delta_reference(ws, [ex.messages[-1].content for ex in train], seed), probes, clf)
    reference = scoring.reference_row(persona, references, [c.text for c in chunks], clf)
    distributions = {label: row.pop("_likeness_distribution", []) for label, row in rows.items()}
    distributions["person"] = reference.pop("_likeness_distribution", [])

    results: dict = {"models": rows, "reference": reference,
                     "heldout": {"texts": len(texts), "dialogues": len(dialogues), "questions": len(held)},
                     "generation": cfg.generation.model_dump(), "likeness_distributions": distributions}
    outputs = [ws.eval / "results.json", ws.eval / "report.html"]
    for r in runs:
        path = ws.eval / "samples" / f"{r.label}.jsonl"
        atomic_write_jsonl(path, _samples(r, held))
        outputs.append(path)
    if probes:
        atomic_write_jsonl(ws.eval / "identity.jsonl", [
            {"model": r.label, "kind": p.kind, "question": p.question, "answer": a}
            for r in runs for p, a in zip(probes, r.probes)])
        outputs.append(ws.eval / "identity.jsonl")
    _judge(cfg, persona, teacher, runs, held, prompter, ws, results)
    _human(ws, results)
    atomic_write_json(ws.eval / "results.json", results)
    write_report(ws, results, persona)
    summary = {label: {k: row.get(k) for k in ("heldout_perplexity", "person_likeness", "delta",
                                                "identity_accuracy")} for label, row in rows.items()}
    return StageResult({"models": summary, "classifier_auc": reference.get("classifier_cv_auc")}, outputs)


def _judge(cfg: EvalConfig, persona, teacher, runs, held, prompter, ws: Workspace, results: dict) -> None:
    if teacher is None or not cfg.judge.enabled or cfg.judge.questions <= 0:
        return
    from doppel.teacher import resolve_teacher

    resolved = resolve_teacher(teacher)
    if resolved is None:
        results["judge"] = {"skipped": "no judge endpoint (set teacher.base_url or OPENAI_BASE_URL)"}
        return
    from doppel.evaluate.judge import judge_ladder

    results["judge"] = judge_ladder(resolved, cfg.judge, persona, runs, held, prompter, ws.eval / "judge.sqlite")


def _human(ws: Workspace, results: dict) -> None:
    from doppel.evaluate.human import VOTES_DB, human_results

    if (ws.eval / VOTES_DB).exists():
        summary = human_results(ws.eval / VOTES_DB)
        if summary.get("votes"):
            results["human"] = summary
