"""The eval_gguf stage: each exported GGUF file as a rung of the persona ladder.

Runs after export. Every file named in export/parity.json (or, with eval.gguf_files: chosen,
only the one the Modelfile uses) is loaded in llama.cpp and answers
the eval stage's held-out questions with the recorded generation settings; it is scored on
the same held-out text (perplexity from llama.cpp's logits) and by the same metrics, with the
person-likeness classifier the eval stage fitted and saved (eval/likeness/). The stage writes
only its own files: eval/gguf.json (rows `gguf-<type>`, the digest of the eval/results.json
they were scored against), eval/samples/gguf-<type>.jsonl and eval/identity_gguf.jsonl; the
report stage joins them to eval's ladder (doppel.eval_results). With the LLM judge on
(eval.judge), it compares the files' answers with those of the model they came from, every
pair in both orders (gguf.json's `judge`). Without GGUF files it prints one line and skips.
"""

from __future__ import annotations

import json

from doppel.config import EvalConfig, PersonaConfig
from doppel.errors import UserError
from doppel.eval_results import AGAIN, GGUF, RESULTS, digest, read_json
from doppel.evaluate import heldout, ladder
from doppel.evaluate.gguf_model import GGUFModel
from doppel.workspace import StageResult, Workspace, atomic_write_json, atomic_write_jsonl

PREFIX = "gguf-"
IDENTITY = "identity_gguf.jsonl"


def _forget(ws: Workspace) -> None:
    """Remove this stage's files from an earlier run (rungs of files an earlier export wrote)."""
    for path in [ws.eval / GGUF, ws.eval / IDENTITY, *(ws.eval / "samples").glob(f"{PREFIX}*.jsonl")]:
        path.unlink(missing_ok=True)


def _results(ws: Workspace, cfg: EvalConfig, inputs: heldout.Inputs) -> dict:
    results = read_json(ws.eval / RESULTS, f"the GGUF rungs join the eval stage's ladder; {AGAIN}")
    held = results.get("heldout", {})
    counts = heldout.perplexity_counts(inputs)
    same = (results.get("generation") == cfg.generation.model_dump() and held.get("questions") == len(inputs.held)
            and all(held.get(k, v) == v for k, v in counts.items()))
    if not same:
        raise UserError(f"{ws.eval / RESULTS} was written with other eval settings (eval.generation, "
                        f"eval.questions, eval.perplexity_texts/dialogues) than the config's; every rung must "
                        f"answer alike: {AGAIN}")
    return results


def _files(ws: Workspace) -> tuple[dict, dict]:
    """(type → path of every GGUF the export wrote, parity.json)."""
    parity = read_json(ws.export / "parity.json", "run 'doppel export CONFIG' first")
    files = {}
    for kind, name in (parity.get("file_names") or {}).items():
        path = ws.export / name
        if not path.exists():
            raise UserError(f"export/parity.json names {name} but {path} is missing; write it again with "
                            f"'doppel export CONFIG --force'")
        files[kind] = path
    return files, parity


def _exported_from(ws: Workspace, rows: dict) -> str | None:
    """The ladder row of the model the files were made from (export's merged_from)."""
    source = ws.stage_entry("export").get("summary", {}).get("merged_from")
    return next((label for label, row in rows.items() if source and row.get("model") == source), None)


def _classifier(ws: Workspace):
    """The eval stage's person-likeness classifier, as it saved it (eval/likeness/): the very same scorer."""
    from doppel.metrics import likeness_store

    return likeness_store.load(ws.eval / likeness_store.FOLDER, likeness_store.REFIT)


def _skip(ws: Workspace, notice: str) -> StageResult:
    _forget(ws)
    atomic_write_json(ws.eval / GGUF, {"skipped": notice})
    return StageResult({"notice": notice}, [ws.eval / GGUF])


def _samples_run(ws: Workspace, label: str, held) -> ladder.ModelRun | None:
    """A ladder model's answers as the eval stage saved them (eval/samples/<label>.jsonl)."""
    path = ws.eval / "samples" / f"{label}.jsonl"
    if not path.exists():
        return None
    index = {ex.id: i for i, ex in enumerate(held)}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answers = [{"q": index[r["id"]], "round": r["round"], "answer": r["answer"]} for r in rows if r["id"] in index]
    return ladder.ModelRun(label, label, answers=answers)


def _judge(cfg: EvalConfig, persona: PersonaConfig, teacher, runs: list, source: str | None, inputs,
           ws: Workspace) -> dict | None:
    """The LLM judge on the exported files and the model they came from, every pair both ways."""
    from doppel.evaluate.judge import judge_if_on

    origin = _samples_run(ws, source, inputs.held) if source else None
    compared = ([origin] if origin else []) + list(runs)
    prompter = ladder.Prompter(persona, inputs.train_answers, cfg.prompt_examples)
    return judge_if_on(teacher, cfg.judge, persona, compared, inputs.held, prompter, ws.eval / "judge.sqlite")


def run(cfg: EvalConfig, persona: PersonaConfig, seed: int, ws: Workspace, teacher=None) -> StageResult:
    inputs = heldout.load_inputs(cfg, persona, ws)
    results = _results(ws, cfg, inputs)
    files, parity = _files(ws)
    if not files:
        return _skip(ws, "export wrote no GGUF file (export.gguf is empty): nothing to add to the ladder")
    if cfg.gguf_files == "chosen":
        chosen = parity.get("chosen")
        if chosen not in files:
            return _skip(ws, "eval.gguf_files is 'chosen' but no GGUF file passed the parity gate "
                             "(export/parity.json): nothing to add to the ladder")
        files = {chosen: files[chosen]}
    _forget(ws)
    source = _exported_from(ws, results["models"])
    plain = ladder.Prompter(persona, [], 0).plain  # a fine-tuned model is asked without examples
    runs = []
    for kind, path in files.items():
        print(f"  eval_gguf: scoring and sampling {path.name} in llama.cpp", flush=True)
        gate = "passed" if parity.get("files", {}).get(kind, {}).get("passed") else "failed"
        describe = f"{path.relative_to(ws.root)} (llama.cpp; parity gate {gate})"
        with GGUFModel(path, cfg.generation) as model:
            runs.append(ladder.answer_rung(model, PREFIX + kind, describe, plain, cfg, inputs.texts,
                                           inputs.conversations, inputs.questions, inputs.probes, seed))
    clf = _classifier(ws)
    rows, distributions = heldout.score(runs, inputs, persona, clf, ws, seed)
    for kind, r in zip(files, runs):
        rows[r.label].update(backend="gguf", gguf_type=kind, gguf_file=files[kind].name, exported_from=source,
                             parity_passed=parity.get("files", {}).get(kind, {}).get("passed"),
                             size_mb=round(files[kind].stat().st_size / 1e6, 2))
    record = {"files": {kind: files[kind].name for kind in files}, "exported_from": source,
              "classifier_cv_auc": clf.cv_auc if clf is not None else None}
    judged = _judge(cfg, persona, teacher, runs, source, inputs, ws)
    if judged is not None:
        record["judge"] = judged
    outputs = heldout.write_samples(runs, inputs.held, ws)
    if inputs.probes:
        atomic_write_jsonl(ws.eval / IDENTITY, heldout.identity_rows(runs, inputs.probes))
        outputs.append(ws.eval / IDENTITY)
    # The digest lets readers tell these rows from ones an earlier eval's ladder was scored with.
    atomic_write_json(ws.eval / GGUF, {**record, "scored_against": digest(results), "models": rows,
                                       "likeness_distributions": distributions})
    summary = heldout.summary_rows(rows)
    judge = {"judge_win_rates": {m: w["win_rate"] for m, w in judged["win_rates"].items()}} \
        if judged and judged.get("win_rates") else {}
    return StageResult({"models": summary, "exported_from": source, **judge}, [*outputs, ws.eval / GGUF])
