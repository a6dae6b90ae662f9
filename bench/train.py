"""Tokens/s of Doppel's CPT and SFT stages against a minimal raw PyTorch loop, in one run.

Same model (a fresh preset model), same batches, same length, same dtype and optimizer.
Also reports the real-token fraction of the batches each stage trains on and peak memory.

Usage: .venv/bin/python bench/train.py [--preset small] [--steps 20] [--batch 16] [--seq 256]
Prints a Markdown table for BENCHMARKS.md. Runs on CUDA when present (bf16 there too).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def raw_loop(model, batches: list[dict], device: str, bf16: bool, lr: float) -> float:
    """Total seconds of a bare forward/backward/AdamW loop over the batches.

    The same update the stages make: fused AdamW (the Trainer's default optimizer here),
    gradient clipping at 1.0 and a cosine schedule; no logging, checkpoints or callbacks.
    """
    import torch
    from transformers import get_cosine_schedule_with_warmup

    model.train().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, fused=True)
    sched = get_cosine_schedule_with_warmup(opt, 1, len(batches))
    start = time.perf_counter()
    for batch in batches:
        inputs = {k: (torch.as_tensor(v).to(device) if not isinstance(v, bool) else v) for k, v in batch.items()}
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
            loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def collate(rows: list[dict], size: int) -> list[dict]:
    return [{k: [r[k] for r in rows[i:i + size]] for k in rows[0]} for i in range(0, len(rows) - size + 1, size)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=256)
    args = parser.parse_args()

    from doppel.config import CPTConfig, SFTConfig
    from doppel.data.chunking import chunk_document, token_counter
    from doppel.demo import generate_demo_sources
    from doppel.modeling import quiet_libraries
    from doppel.modeling.device import resolve_device, use_bf16
    from doppel.modeling.loading import ModelSource
    from doppel.modeling.presets import build_model
    from doppel.modeling.tokenizer import train_tokenizer
    from doppel.records import Document, Example, Message
    from doppel.train import cpt, sft
    from doppel.train.common import TrainEnv, pack_blocks
    from doppel.train.packing import PackedCollator, packed_dataset
    from doppel.workspace import Workspace, atomic_write_jsonl

    quiet_libraries()
    device = resolve_device("auto")
    env = TrainEnv(device, use_bf16("auto", device), 0)
    tmp = Path(tempfile.mkdtemp())
    generate_demo_sources(tmp / "src", seed=0, scale=0.3)
    texts = [p.read_text() for p in sorted((tmp / "src").rglob("*.md"))]
    tok = train_tokenizer(texts, 4096)
    base = tmp / "base"
    build_model(args.preset, tok).save_pretrained(base)
    tok.save_pretrained(base)

    ws = Workspace(tmp / "run").create()
    count = token_counter(tok)
    chunks = [c for i, t in enumerate(texts) for c in chunk_document(
        Document(id=f"d{i}", source="x", kind="markdown", text=t), t, args.seq, count)]
    atomic_write_jsonl(ws.data / "cpt" / "train.jsonl", chunks)
    lines = [s.strip() for t in texts for s in t.split(". ") if len(s.split()) > 6]
    # Enough question/answer pairs to fill every packed row of every step (several fit a row).
    pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines) - 1, 2)]
    examples = [Example(id=f"e{i}", messages=[Message(role="user", content=q), Message(role="assistant", content=a)])
                for i, (q, a) in enumerate((pairs * 100)[:12 * args.batch * args.steps])]
    atomic_write_jsonl(ws.data / "sft" / "train.jsonl", examples)

    n = args.steps
    common = dict(max_steps=n, batch_size=args.batch, seq_len=args.seq, save_steps=10_000, learning_rate=5e-4)
    result = cpt.run(CPTConfig(method="full", **common), ModelSource("b", str(base)), env, ws, "bench")
    blocks, packing = pack_blocks([c.full_text() for c in chunks], tok, args.seq)
    ours = n * args.batch * args.seq / result.summary["train_seconds"]
    raw = n * args.batch * args.seq / raw_loop(build_model(args.preset, tok), collate(blocks, args.batch)[:n],
                                               device, env.bf16, 5e-4)
    cpt_row = ("CPT (full, packed)", ours, raw, packing["real_token_fraction"])

    result = sft.run(SFTConfig(method="full", **common), ModelSource("b", str(base)), env, ws, "bench")
    packing = result.summary["packing"]
    sft_rows, _ = packed_dataset([[m.model_dump() for m in e.messages] for e in examples], tok, args.seq)
    assert len(sft_rows) >= n * args.batch, "too few SFT rows for the steps; raise the example count"
    collate_rows = PackedCollator(tok.pad_token_id)
    batches = [collate_rows(sft_rows[i:i + args.batch]) for i in range(0, n * args.batch, args.batch)]
    # Real (non-padding) tokens per step, the same for both sides: rows are shuffled by the
    # Trainer, so the expected count per row is the packed data's mean.
    real = n * args.batch * packing["tokens"] / packing["rows"]
    ours = real / result.summary["train_seconds"]
    raw = real / raw_loop(build_model(args.preset, tok), batches, device, env.bf16, 5e-4)
    table = [cpt_row, ("SFT (full, assistant-only loss, packed, no cross-example attention)", ours, raw,
                       packing["real_token_fraction"])]

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"device {device}, bf16 {env.bf16}, preset {args.preset}, batch {args.batch}, seq {args.seq}, "
          f"{args.steps} steps (whole loops timed, warm-up included on both sides)\n")
    print("| stage | Doppel tokens/s | raw loop tokens/s | ratio | real-token fraction |\n|---|---|---|---|---|")
    for name, ours, raw, frac in table:
        print(f"| {name} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.2f} | {frac:.3f} |")
    print(f"\npeak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
