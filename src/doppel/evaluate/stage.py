"""The eval stage: every model of the run scored on the same held-out text and questions."""

from __future__ import annotations

from doppel.config import EvalConfig, PersonaConfig
from doppel.evaluate.perplexity import answer_perplexity, text_perplexity
from doppel.metrics.phrases import phrase_rate
from doppel.modeling.generation import generate_reply
from doppel.modeling.loading import ModelSource, load_model
from doppel.records import Example, TextChunk, read_jsonl
from doppel.workspace import StageResult, Workspace, atomic_write_json, atomic_write_jsonl


def _questions(dialogues: list[Example], n: int) -> list[Example]:
    """An evenly spread, fixed selection of held-out dialogues."""
    if n <= 0 or not dialogues:
        return []
    step = max(1, len(dialogues) // n)
    return dialogues[::step][:n]


def evaluate_model(src: ModelSource, cfg: EvalConfig, persona: PersonaConfig, texts: list[str],
                   dialogues: list[Example], device: str, seed: int) -> tuple[dict, list[dict]]:
    model, tokenizer = load_model(src, device=device)
    text = text_perplexity(model, tokenizer, texts, cfg.batch_size)
    answers = answer_perplexity(model, tokenizer, [[m.model_dump() for m in ex.messages] for ex in dialogues],
                                cfg.batch_size)
    samples = []
    for i, ex in enumerate(_questions(dialogues, cfg.questions)):
        prompt = [m.model_dump() for m in ex.messages[:-1]]
        reply = generate_reply(model, tokenizer, prompt, cfg.generation, seed=seed + i)
        samples.append({"id": ex.id, "question": prompt[-1]["content"], "answer": reply,
                        "reference": ex.messages[-1].content})
    row = {
        "model": src.describe(),
        "heldout_perplexity": text["perplexity"],
        "heldout_nll": text["nll"],
        "heldout_answer_perplexity": answers["perplexity"],
        "catchphrases_per_1k_words": round(phrase_rate([s["answer"] for s in samples], persona.catchphrases), 2),
        "samples": len(samples),
    }
    return row, samples


def run(cfg: EvalConfig, persona: PersonaConfig, models: list[ModelSource], device: str, seed: int,
        ws: Workspace) -> StageResult:
    chunks = read_jsonl(ws.data / "heldout" / "text.jsonl", TextChunk)
    dialogues = read_jsonl(ws.data / "heldout" / "dialogues.jsonl", Example)
    texts = [c.full_text() for c in chunks]
    results: dict = {"models": {}, "reference": {}, "heldout": {"texts": len(texts), "dialogues": len(dialogues)},
                     "generation": cfg.generation.model_dump()}
    outputs = [ws.eval / "results.json"]
    for src in models:
        row, samples = evaluate_model(src, cfg, persona, texts, dialogues, device, seed)
        results["models"][src.label] = row
        path = ws.eval / "samples" / f"{src.label}.jsonl"
        atomic_write_jsonl(path, samples)
        outputs.append(path)
    refs = [ex.messages[-1].content for ex in _questions(dialogues, cfg.questions)]
    results["reference"]["catchphrases_per_1k_words"] = round(phrase_rate(refs, persona.catchphrases), 2)
    atomic_write_json(ws.eval / "results.json", results)
    return StageResult({"models": results["models"], "reference": results["reference"]}, outputs)

