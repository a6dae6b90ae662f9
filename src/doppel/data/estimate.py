"""`doppel estimate`: what a run will cost before anything is spent.

Corpus size (chars, words, tokens), the teacher's synthesis cost (requests, tokens, the
price table in teacher.prices), training tokens per epoch per stage, and GPU-hours and
memory for a model size and method from first principles:

- compute: 6·N·T FLOPs for full training (forward 2N, backward 4N per token); 4·N·T for
  LoRA/QLoRA, whose frozen base needs no weight gradients; divided by peak FLOP/s × MFU;
- memory: full = 16 bytes/parameter (bf16 weights and grads, fp32 master and two Adam
  moments); LoRA = 2 bytes/parameter (bf16 frozen base); QLoRA = 0.55 (4-bit base plus
  quantization constants); plus 20% for activations and buffers.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from doppel.config import Config
from doppel.workspace import Workspace

CHARS_PER_TOKEN = 4.0  # the usual English rule of thumb, when no tokenizer is at hand
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".srt", ".vtt", ".json", ".jsonl", ".html", ".htm"}
BYTES_PER_PARAM = {"full": 16.0, "lora": 2.0, "qlora": 0.55}
FLOPS_PER_PARAM_TOKEN = {"full": 6.0, "lora": 4.0, "qlora": 4.0}
PRESET_PARAMS = {"tiny": 0.1e6, "small": 3e6, "medium": 25e6}  # as built from scratch, sans embeddings


def parse_params(text: str) -> float | None:
    """'7B' → 7e9, '0.5b' → 5e8, '350M' → 3.5e8; read from names like 'Qwen/Qwen2.5-0.5B'."""
    m = re.search(r"(\d+(?:\.\d+)?)\s*([bBmM])(?![a-zA-Z])", text)
    if not m:
        return None
    return float(m.group(1)) * (1e9 if m.group(2).lower() == "b" else 1e6)


def _source_texts(cfg: Config) -> tuple[list[str], list[str], bool]:
    """Persona and background texts: from the ingested corpus, or raw files before ingest."""
    ws = Workspace(cfg.run_dir)
    docs = ws.corpus / "documents.jsonl"
    if docs.exists():
        read = lambda p: [json.loads(line)["text"] for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        bg = ws.corpus / "background.jsonl"
        return read(docs), read(bg) if bg.exists() else [], True

    def raw(sources) -> list[str]:
        out = []
        for src in sources:
            if src.path is None or not Path(src.path).exists():
                continue
            files = [Path(src.path)] if Path(src.path).is_file() else sorted(Path(src.path).rglob("*"))
            out += [f.read_text(encoding="utf-8", errors="replace") for f in files
                    if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES]
        return out
    return raw(cfg.sources), raw(cfg.background), False


def _counter(cfg: Config):
    """A token counter from the run's tokenizer or the base model's; None when neither loads."""
    ws = Workspace(cfg.run_dir)
    where = ws.tokenizer if (ws.tokenizer / "tokenizer.json").exists() else cfg.model.base
    if not where:
        return None
    try:
        from transformers import AutoTokenizer

        from doppel.modeling.bases import resolve_base

        # Only what is on disk or in the local cache: an estimate never downloads.
        where = where if where == ws.tokenizer else resolve_base(str(where))
        tok = AutoTokenizer.from_pretrained(str(where), local_files_only=True)
    except Exception:  # not downloadable here, or not a tokenizer: fall back to the rule of thumb
        return None
    return lambda texts: sum(len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]) if texts else 0


def corpus_size(texts: list[str], count) -> dict:
    chars = sum(len(t) for t in texts)
    tokens = count(texts) if count else round(chars / CHARS_PER_TOKEN)
    return {"documents": len(texts), "chars": chars, "words": sum(len(t.split()) for t in texts),
            "tokens": tokens, "tokens_exact": bool(count)}


def teacher_cost(cfg: Config, persona_tokens: int, dialogues: int) -> dict:
    s, e = cfg.synth, cfg.estimate
    passages = min(s.max_passages, max(1, persona_tokens // max(cfg.data.chunk_tokens, 1)))
    questions = len(s.categories) * s.questions_per_category + passages * s.questions_per_passage
    reqs = {"questions": (len(s.categories) if s.questions_per_category else 0)
            + (passages if s.questions_per_passage else 0),
            "backtranslate": passages if "backtranslate" in s.answers else 0,
            "answers": questions * sum(w in s.answers for w in ("grounded", "plain"))}
    reqs["scores"] = (reqs["backtranslate"] + reqs["answers"]) if s.score else 0
    reqs["generic_answers"] = (reqs["backtranslate"] + dialogues) if s.preferences else 0
    total = sum(reqs.values())
    p_tok, c_tok = total * e.prompt_tokens_per_request, total * e.completion_tokens_per_request
    price = cfg.teacher.prices.get(cfg.teacher.model)
    cost = (p_tok * price.input + c_tok * price.output) / 1e6 if price else None
    return {"model": cfg.teacher.model, "requests": reqs, "total_requests": total, "prompt_tokens": p_tok,
            "completion_tokens": c_tok, "cost_usd": round(cost, 4) if cost is not None else None,
            "priced": price is not None, "synth_examples": passages + questions}


def gpu_estimate(cfg: Config, tokens: int, epochs: float, method: str, params: float) -> dict:
    e = cfg.estimate
    flops = FLOPS_PER_PARAM_TOKEN[method] * params * tokens * epochs
    hours = flops / (e.gpu_tflops * 1e12 * e.mfu) / 3600
    memory = params * BYTES_PER_PARAM[method] * 1.2 / 2**30
    return {"flops": flops, "gpu_hours": round(hours, 4), "memory_gb": round(memory, 2),
            "gpus_needed": max(1, math.ceil(memory / e.gpu_memory_gb)),
            "gpu_cost_usd": round(hours * e.gpu_hour_price, 2)}


def estimate(cfg: Config) -> dict:
    persona, background, exact_docs = _source_texts(cfg)
    count = _counter(cfg)
    size = {"persona": corpus_size(persona, count), "background": corpus_size(background, count)}
    stats_path = Workspace(cfg.run_dir).data / "stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    dialogues = stats.get("sft", {}).get("train_examples", 0)
    teacher = teacher_cost(cfg, size["persona"]["tokens"], dialogues)
    sft_tokens = teacher["synth_examples"] * cfg.estimate.completion_tokens_per_request * 2
    sft_tokens += round(size["persona"]["tokens"] * 0.5) if dialogues else 0
    per_stage = {"pretrain": size["background"]["tokens"] if not cfg.model.base else 0,
                 "cpt": stats.get("cpt", {}).get("train_tokens", size["persona"]["tokens"]),
                 "sft": sft_tokens}
    method = cfg.estimate.method or cfg.train.sft.method
    named = cfg.estimate.params or cfg.model.base or ""
    params = parse_params(named) or PRESET_PARAMS[cfg.model.preset]
    training = {}
    for stage, tokens in per_stage.items():
        conf = getattr(cfg.train, stage)
        m = "full" if stage == "pretrain" else (method if stage == "sft" else conf.method)
        training[stage] = {"tokens_per_epoch": tokens, "epochs": conf.epochs, "method": m,
                           **gpu_estimate(cfg, tokens, conf.epochs, m, params)}
    hosted = round(per_stage["sft"] / 1e6 * cfg.estimate.hosted_price_per_mtok, 4)
    return {"corpus": size, "corpus_exact": exact_docs, "teacher": teacher, "model_params": params,
            "gpu": {"name": cfg.estimate.gpu, "peak_tflops": cfg.estimate.gpu_tflops, "mfu": cfg.estimate.mfu},
            "training": training, "hosted_finetune_usd_per_epoch": hosted,
            "assumptions": __doc__.split("\n\n", 1)[1].strip()}


def _human(n: float) -> str:
    return f"{n / 1e9:.3g}B" if n >= 1e9 else f"{n / 1e6:.3g}M"


def print_estimate(est: dict, console) -> None:
    from rich.table import Table

    c = est["corpus"]
    console.print(f"corpus (persona): {c['persona']['documents']} documents, {c['persona']['chars']:,} chars, "
                  f"{c['persona']['words']:,} words, {c['persona']['tokens']:,} tokens"
                  f"{'' if c['persona']['tokens_exact'] else ' (≈ chars/4)'}; background: "
                  f"{c['background']['tokens']:,} tokens"
                  f"{'' if est['corpus_exact'] else ' — from raw files; run doppel ingest for exact counts'}")
    t = est["teacher"]
    cost = f"${t['cost_usd']:.4f}" if t["cost_usd"] is not None else "no price for this model in teacher.prices"
    console.print(f"teacher ({t['model']}): {t['total_requests']} requests, {t['prompt_tokens']:,} prompt + "
                  f"{t['completion_tokens']:,} completion tokens, {cost}")
    table = Table(title=f"training on {est['gpu']['name']} at {est['gpu']['mfu']:.0%} MFU, "
                        f"{_human(est['model_params'])} parameters")
    for col in ("stage", "method", "tokens/epoch", "epochs", "GPU-hours", "memory GB", "GPUs", "GPU cost $"):
        table.add_column(col, justify="left" if col in ("stage", "method") else "right")
    for stage, r in est["training"].items():
        table.add_row(stage, r["method"], f"{r['tokens_per_epoch']:,}", f"{r['epochs']:g}", f"{r['gpu_hours']:.4f}",
                      f"{r['memory_gb']:.2f}", str(r["gpus_needed"]), f"{r['gpu_cost_usd']:.2f}")
    console.print(table)
    console.print(f"hosted fine-tuning (SFT tokens): ${est['hosted_finetune_usd_per_epoch']:.4f} per epoch")
