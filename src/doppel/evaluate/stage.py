"""The eval stage: the persona ladder scored on the same held-out text and questions.

Models: base, base prompted as the person, every trained stage. Metrics: held-out
perplexities, person-likeness, function-word Delta, repetition and diversity, over-used
phrases, identity probes; the LLM judge when an endpoint is configured; human A/B votes
when any have been cast. Writes eval/results.json, eval/samples/, eval/identity.jsonl and
never the exported files' rungs: those are the eval_gguf stage's (gguf_stage.py), and the
report stage joins both into eval/report.html.
"""

from __future__ import annotations

import time

from doppel.config import EvalConfig, PersonaConfig
from doppel.eval_results import RESULTS, gguf_rows_current
from doppel.evaluate import heldout, ladder, scoring
from doppel.metrics import likeness_store
from doppel.modeling.loading import ModelSource
from doppel.workspace import StageResult, Workspace, atomic_write_json, atomic_write_jsonl


def run(cfg: EvalConfig, persona: PersonaConfig, models: list[ModelSource], device: str, seed: int,
        ws: Workspace, teacher=None) -> StageResult:
    had_gguf = gguf_rows_current(ws.eval)  # the exported files' rungs match the ladder this run replaces
    inputs = heldout.load_inputs(cfg, persona, ws)
    held, probes = inputs.held, inputs.probes
    prompter = ladder.Prompter(persona, inputs.train_answers, cfg.prompt_examples)
    clf_questions = [ex.messages[-2].content for ex in inputs.classifier_examples]

    runs = ladder.answer_ladder(
        models + ladder.later_models(ws.root, models), cfg, prompter, inputs.texts, inputs.conversations,
        inputs.questions, probes, clf_questions, device, seed,
        progress=lambda label: print(f"  eval: scoring and sampling {label}", flush=True))

    for r in runs:
        print(f"  eval: {r.label}: perplexities {r.seconds['perplexities']} s, "
              f"{sum(len(x) for x in (r.answers, r.probes, r.bare_probes, r.classifier_answers))} answers "
              f"{r.seconds['answers']} s", flush=True)
    base_src = next((m for m in models if m.label == "base"), None)
    started = time.perf_counter()
    person_fluency = ladder.base_fluency(base_src, runs, inputs.questions, inputs.references, prompter, cfg,
                                         device) if base_src is not None else None
    print(f"  eval: fluency (the base model's perplexity of the answers) {time.perf_counter() - started:.1f} s",
          flush=True)
    person_train = [ex.messages[-1].content for ex in inputs.classifier_examples]
    by_label = {r.label: r.classifier_answers for r in runs if r.classifier_answers}
    clf_rows = [{"question": q, "person": p, **{k: by_label[k][i] for k in ("base", "prompted") if k in by_label}}
                for i, (q, p) in enumerate(zip(clf_questions, person_train))]
    # Fitted once, here, and saved: export's parity gate and eval_gguf load this very classifier.
    clf, clf_files = scoring.fit_and_save(clf_rows, inputs.references, seed, ws.eval / likeness_store.FOLDER)
    rows, distributions = heldout.score(runs, inputs, persona, clf, ws, seed)
    reference = scoring.reference_row(persona, inputs.references, [c.text for c in inputs.chunks], clf)
    distributions["person"] = reference.pop("_likeness_distribution", [])
    reference["base_perplexity_of_answers"] = person_fluency
    if person_fluency is not None:
        reference["fluency_ratio"] = 1.0  # the person's answers against themselves

    results: dict = {"models": rows, "reference": reference,
                     "heldout": {"texts": len(inputs.chunks), "dialogues": len(inputs.dialogues),
                                 "questions": len(held), **heldout.perplexity_counts(inputs)},
                     "generation": cfg.generation.model_dump(), "likeness_distributions": distributions}
    outputs = [ws.eval / RESULTS, *heldout.write_samples(runs, held, ws), *clf_files]
    if probes:
        atomic_write_jsonl(ws.eval / "identity.jsonl", heldout.identity_rows(runs, probes))
        outputs.append(ws.eval / "identity.jsonl")
    _judge(cfg, persona, teacher, runs, held, prompter, ws, results)
    _human(ws, results)
    atomic_write_json(ws.eval / RESULTS, results)
    summary = heldout.summary_rows(rows)
    stale = had_gguf and not gguf_rows_current(ws.eval)  # scored against the ladder just replaced
    notes = {"gguf_rungs": "left out of the report until the export runs again (the export depends on this "
                           "evaluation): 'doppel run CONFIG' exports the GGUF files and scores them"} if stale else {}
    return StageResult({"models": summary, "classifier_auc": reference.get("classifier_cv_auc"), **notes}, outputs)


def _judge(cfg: EvalConfig, persona, teacher, runs, held, prompter, ws: Workspace, results: dict) -> None:
    from doppel.evaluate.judge import judge_if_on

    judged = judge_if_on(teacher, cfg.judge, persona, runs, held, prompter, ws.eval / "judge.sqlite")
    if judged is not None:
        results["judge"] = judged


def _human(ws: Workspace, results: dict) -> None:
    from doppel.evaluate.human import VOTES_DB, human_results

    if (ws.eval / VOTES_DB).exists():
        summary = human_results(ws.eval / VOTES_DB)
        if summary.get("votes"):
            results["human"] = summary
