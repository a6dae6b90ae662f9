"""The quantization parity gate: each GGUF measured against the full-precision HF model.

On held-out persona text: identical tokenization, perplexity ratio, mean KL divergence of
the next-token distributions and top-1 agreement. On held-out questions: the GGUF's chat
template must render the same prompt tokens, a greedy answer that writes the HF model's whole
answer must stop where it stops (answers that part earlier, at a near-tie, are counted as
diverged), and the answers' person-likeness must stay close to the
HF model's. A file that breaks a threshold is marked failed, with every number kept.

The comparison streams: the HF model's full-vocabulary logits are computed one text at a
time, next to the GGUF's, reduced to running sums (log-likelihood, KL, top-1 agreement,
largest difference) and dropped. Logits for all texts are held at once only when they fit in
KEEP_LOGITS_BYTES (the demo's 8 texts of SmolLM2: ~370 MB; for an 8B model with a 128k
vocabulary and the default 16 texts they would be ~2 GB): then the HF forward pass runs once
per text instead of once per text and file (on 2 CPU cores, 8.6 s of the demo's 47 s gate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from doppel.config import GenerationSettings, ParitySettings

Scorer = Callable[[list[str]], float | None]


@dataclass
class Reference:
    """What the HF model does on the gate's inputs, computed once for every GGUF (its logits excepted)."""

    text_ids: list[list[int]]
    logits: Callable  # ids → (n_tokens, vocab) float32 raw next-token logits of the HF model, on demand
    chat_ids: list[list[int]]
    answers: list[str]
    finishes: list[str]
    nll: float
    likeness: float | None = None
    extra: dict = field(default_factory=dict)


def _log_softmax(x):
    """Log-probabilities of float32 logits, computed in float64 (torch's kernel: twice numpy's speed
    on a CPU, the same numbers), returned as float32."""
    import torch

    return torch.from_numpy(x).double().log_softmax(-1).float().numpy()


def _nll_sum(logprobs, ids) -> float:
    """Minus the log-likelihood of each next token of `ids` under per-position log-probabilities."""
    return -sum(float(logprobs[pos, ids[pos + 1]]) for pos in range(len(ids) - 1))


# Up to this many bytes of the HF model's logits on the gate's texts are kept for every file.
KEEP_LOGITS_BYTES = 1 << 30


def hf_logits_fn(model, keep: bool = False) -> Callable:
    """ids → the HF model's float32 logits at every position (computed on the model's device);
    with `keep`, each text's logits are computed once and kept."""
    import torch

    def logits(ids: list[int]):
        with torch.no_grad():
            return model(torch.tensor([ids], device=model.device)).logits[0].float().cpu().numpy()

    if not keep:
        return logits
    kept: dict[tuple[int, ...], object] = {}

    def kept_logits(ids: list[int]):
        key = tuple(ids)
        if key not in kept:
            kept[key] = logits(ids)  # read, never written, by every file's comparison
        return kept[key]

    return kept_logits


def reference(model, tokenizer, texts: list[str], prompts: list[list[dict]], cfg: ParitySettings,
              scorer: Scorer | None) -> Reference:
    from doppel.modeling.generation import generate_with_finish

    text_ids = [tokenizer(t, add_special_tokens=False)["input_ids"][: cfg.max_tokens_per_text] for t in texts]
    text_ids = [ids for ids in text_ids if len(ids) >= 2]
    vocab = int(getattr(model.config, "vocab_size", 0) or 0)
    hf_logits = hf_logits_fn(model, keep=0 < sum(map(len, text_ids)) * vocab * 4 <= KEEP_LOGITS_BYTES)
    nll = sum(_nll_sum(_log_softmax(hf_logits(ids)), ids) for ids in text_ids)
    nll /= max(sum(len(ids) - 1 for ids in text_ids), 1)
    chat_ids = [list(tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=True,
                                                   return_dict=True)["input_ids"]) for p in prompts]
    greedy = GenerationSettings(max_new_tokens=cfg.max_new_tokens, do_sample=False, repetition_penalty=1.0)
    answers, finishes = [], []
    for ids in chat_ids:
        text, finish, _ = generate_with_finish(model, tokenizer, ids, greedy)
        answers.append(text)
        finishes.append(finish)
    ref = Reference(text_ids, hf_logits, chat_ids, answers, finishes, nll)
    ref.likeness = scorer(answers) if scorer and answers else None
    return ref


def _text_metrics(llm, ref: Reference) -> dict:
    import numpy as np

    from doppel.modeling.llamacpp import logits

    kl_sum, agree, positions, max_diff, nll, nonfinite = 0.0, 0, 0, 0.0, 0.0, 0
    for ids in ref.text_ids:  # one text's logits at a time, reduced to sums, then dropped
        hf_raw = ref.logits(ids)
        raw = logits(llm, ids)
        nonfinite += int((~np.isfinite(raw)).sum())
        diff = float(np.abs(raw - hf_raw).max())  # NaN when any logit is: reported as infinite
        max_diff = max(max_diff, diff if math.isfinite(diff) else math.inf)
        p, q = _log_softmax(hf_raw), _log_softmax(raw)
        del hf_raw, raw
        kl_sum += float((np.exp(p) * (p - q)).sum())
        agree += int((p.argmax(-1) == q.argmax(-1)).sum())
        positions += len(ids)
        nll += _nll_sum(q, ids)
    count = sum(len(ids) - 1 for ids in ref.text_ids)
    return {"ppl_ratio": math.exp(nll / max(count, 1) - ref.nll), "mean_kl": kl_sum / max(positions, 1),
            "top1_agreement": agree / max(positions, 1), "max_abs_logit_diff": max_diff,
            "nonfinite_logits": nonfinite}


def _generation(llm, ref: Reference, cfg: ParitySettings) -> tuple[list[str], list[str]]:
    from doppel.modeling.llamacpp import stream_completion

    answers, finishes = [], []
    for ids in ref.chat_ids:
        pieces, finish = [], "length"
        for text, reason in stream_completion(llm, ids, cfg.max_new_tokens, temperature=0.0, top_p=1.0,
                                              repeat_penalty=1.0):
            pieces.append(text)
            finish = reason or finish
        answers.append("".join(pieces).strip())
        finishes.append(finish)
    return answers, finishes


def measure(path, ref: Reference, texts: list[str], prompts: list[list[dict]], cfg: ParitySettings,
            scorer: Scorer | None) -> dict:
    """Every parity number of one GGUF file (or a (base, LoRA adapter) pair of files) against the reference."""
    from doppel.modeling.llamacpp import chat_tokens, load_gguf, tokenize

    path, lora = path if isinstance(path, (tuple, list)) else (path, None)
    llm = load_gguf(path, n_ctx=max([len(i) for i in ref.text_ids] + [len(i) + cfg.max_new_tokens
                                                                       for i in ref.chat_ids] + [64]) + 8,
                    logits_all=True, lora=lora)
    try:
        plain = [tokenize(llm, t)[: cfg.max_tokens_per_text] for t in texts]
        plain = [ids for ids in plain if len(ids) >= 2]
        row = {"tokenization_equal": plain == ref.text_ids,
               "chat_template_equal": [chat_tokens(llm, p) for p in prompts] == ref.chat_ids}
        row.update(_text_metrics(llm, ref))
        answers, finishes = _generation(llm, ref, cfg)
    finally:
        llm.close()
    row["missed_stops"], row["diverged_answers"] = stop_check(ref.answers, ref.finishes, answers, finishes)
    row["stops"] = sum(f == "stop" for f in finishes)
    row["answers"] = answers
    likeness = scorer(answers) if scorer and answers else None
    row["likeness_ratio"] = (likeness / ref.likeness) if likeness is not None and ref.likeness else None
    return row


def stop_check(ref_answers: list[str], ref_finishes: list[str], answers: list[str],
               finishes: list[str]) -> tuple[int, int]:
    """(missed stops, diverged answers). A stop is missed when the file wrote the HF model's whole
    answer and went on past it: its end-of-turn token is not honoured. A greedy answer that left
    the HF model's words earlier (a near-tie flipped by quantization) has diverged instead; how
    close such answers stay is what top-1 agreement, KL and likeness measure."""
    missed = diverged = 0
    for ref_answer, ref_finish, answer, finish in zip(ref_answers, ref_finishes, answers, finishes):
        if answer != ref_answer and not answer.startswith(ref_answer):
            diverged += 1
        elif ref_finish == "stop" and finish != "stop":
            missed += 1
    return missed, diverged


def verdict(row: dict, cfg: ParitySettings) -> list[str]:
    """The thresholds a measured GGUF breaks (empty: it passes)."""
    failures = []
    if row.get("nonfinite_logits"):
        failures.append(f"{row['nonfinite_logits']} logits are NaN or infinite")
    if not row["tokenization_equal"]:
        failures.append("tokenization differs from the HF tokenizer")
    if not row["chat_template_equal"]:
        failures.append("chat template renders different prompt tokens")
    if row["missed_stops"]:
        failures.append(f"{row['missed_stops']} answer(s) ran past the end-of-turn token")
    if not row["ppl_ratio"] <= cfg.max_ppl_ratio:  # `not <=`: a NaN fails too
        failures.append(f"perplexity ratio {row['ppl_ratio']:.4f} > {cfg.max_ppl_ratio}")
    if not row["mean_kl"] <= cfg.max_kl:
        failures.append(f"mean KL {row['mean_kl']:.4f} > {cfg.max_kl}")
    if row["top1_agreement"] < cfg.min_top1:
        failures.append(f"top-1 agreement {row['top1_agreement']:.4f} < {cfg.min_top1}")
    ratio = row.get("likeness_ratio")
    if cfg.min_likeness_ratio is not None and ratio is not None and ratio < cfg.min_likeness_ratio:
        failures.append(f"person-likeness ratio {ratio:.3f} < {cfg.min_likeness_ratio}")
    return failures


def run_gate(model, tokenizer, files: dict[str, str | tuple[str, str]], texts: list[str],
             prompts: list[list[dict]], cfg: ParitySettings, scorer: Scorer | None = None) -> dict:
    """Measure every GGUF in `files` (name → path, or (base path, LoRA adapter path)); each row gets
    `passed` and its `failures`."""
    ref = reference(model, tokenizer, texts, prompts, cfg, scorer)
    rows = {}
    for name, path in files.items():
        row = measure(path, ref, texts, prompts, cfg, scorer)
        row["failures"] = verdict(row, cfg)
        row["passed"] = not row["failures"]
        rows[name] = _rounded(row)
    return {"reference": {"perplexity": round(math.exp(ref.nll), 4), "texts": len(ref.text_ids),
                          "tokens": sum(len(i) for i in ref.text_ids), "prompts": len(ref.chat_ids),
                          "stops": sum(f == "stop" for f in ref.finishes), "likeness": ref.likeness,
                          "answers": ref.answers},
            "thresholds": cfg.model_dump(), "files": rows}


def _rounded(row: dict) -> dict:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}


def pick(rows: dict[str, dict], sizes: dict[str, int]) -> str | None:
    """The smallest file (in bytes) that passed the gate, or None when none did."""
    passed = [name for name, row in rows.items() if row["passed"]]
    return min(passed, key=lambda n: sizes[n]) if passed else None
