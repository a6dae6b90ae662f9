"""Tokens/s of Doppel's CPT and SFT stages against a minimal raw PyTorch loop, in one run.

Same model (a fresh preset model), same batches, same length, same dtype and optimizer.
Also reports the real-token fraction of the batches each stage trains on and peak memory.

Each round trains the stage and the raw loop, in turn first (odd rounds the stage first,
even rounds the raw loop first); rounds repeat (`--rounds`) so that a slow spell of a shared
machine hits both sides. Two figures per side: steady-state
tokens/s (median step time, first two steps left out, then the median over rounds) and
whole-loop tokens/s (everything between the first step's start and the last step's end,
warm-up included; median over rounds). The stage's own step times come from the summary
it writes (`step_seconds`).

Usage: .venv/bin/python bench/train.py [--preset small] [--steps 30] [--rounds 4] [--batch 16] [--seq 256]
Prints a Markdown table for BENCHMARKS.md. Runs on CUDA when present (bf16 there too).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def raw_loop(model, batches: list[dict], device: str, bf16: bool, lr: float) -> list[float]:
    """Seconds of each step of a bare forward/backward/AdamW loop over the batches.

    The same update the stages make: fused AdamW (the Trainer's default optimizer here),
    gradient clipping at 1.0 and a cosine schedule; no logging, checkpoints or callbacks.
    """
    import torch
    from transformers import get_cosine_schedule_with_warmup

    model.train().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, fused=True)
    sched = get_cosine_schedule_with_warmup(opt, 1, len(batches))
    ends = [time.perf_counter()]
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
        ends.append(time.perf_counter())
    return [b - a for a, b in zip(ends, ends[1:])]


def steady(steps: list[float]) -> float:
    """Median step time with the first two steps (one-off costs) left out."""
    import statistics

    return statistics.median(steps[2:])


def median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def collate(rows: list[dict], size: int) -> list[dict]:
    return [{k: [r[k] for r in rows[i:i + size]] for k in rows[0]} for i in range(0, len(rows) - size + 1, size)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=4)
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
    # The corpus repeated until it fills every step's batch (the text itself does not matter here).
    chunks = chunks * -(-args.steps * args.batch // len(chunks))
    atomic_write_jsonl(ws.data / "cpt" / "train.jsonl", chunks)
    lines = [s.strip() for t in texts for s in t.split(". ") if len(s.split()) > 6]
    # Enough question/answer pairs to fill every packed row of every step (several fit a row).
    pairs = [(lines[i], lines[i + 1]) for i in range(0, len(lines) - 1, 2)]
    examples = [Example(id=f"e{i}", messages=[Message(role="user", content=q), Message(role="assistant", content=a)])
                for i, (q, a) in enumerate((pairs * 100)[:12 * args.batch * args.steps])]
    atomic_write_jsonl(ws.data / "sft" / "train.jsonl", examples)

    n = args.steps
    common = dict(max_steps=n, batch_size=args.batch, seq_len=args.seq, save_steps=10_000, learning_rate=5e-4)
    blocks, cpt_packing = pack_blocks([c.full_text() for c in chunks], tok, args.seq)
    cpt_batches = collate(blocks, args.batch)[:n]
    assert len(cpt_batches) == n, "too few CPT blocks for the steps; lower --steps"
    sft_rows, sft_packing = packed_dataset([[m.model_dump() for m in e.messages] for e in examples], tok, args.seq)
    assert len(sft_rows) >= n * args.batch, "too few SFT rows for the steps; raise the example count"
    collate_rows = PackedCollator(tok.pad_token_id)
    sft_batches = [collate_rows(sft_rows[i:i + args.batch]) for i in range(0, n * args.batch, args.batch)]
    # Tokens per step, the same for both sides. SFT rows are shuffled by the Trainer, so the
    # real (non-padding) count per row is the packed data's mean.
    per_step = {"cpt": args.batch * args.seq,
                "sft": args.batch * sft_packing["tokens"] / sft_packing["rows"]}
    stages = {"cpt": (cpt, CPTConfig, cpt_batches), "sft": (sft, SFTConfig, sft_batches)}
    seen: dict = {k: {"ours": [], "raw": [], "ours_whole": [], "raw_whole": []} for k in stages}
    for r in range(args.rounds):
        for name, (module, config, batches) in stages.items():
            for side in (("ours", "raw") if r % 2 == 0 else ("raw", "ours")):
                if side == "ours":
                    result = module.run(config(method="full", **common), ModelSource("b", str(base)), env, ws,
                                        f"bench{r}")
                    assert result.summary["steps"] == n
                    seen[name]["ours"].append(result.summary["step_seconds"]["median"])
                    seen[name]["ours_whole"].append(result.summary["train_seconds"])
                else:
                    steps = raw_loop(build_model(args.preset, tok), batches, device, env.bf16, 5e-4)
                    seen[name]["raw"].append(steady(steps))
                    seen[name]["raw_whole"].append(sum(steps))
            print(f"round {r + 1} {name}: step {seen[name]['ours'][-1]:.3f} s vs raw {seen[name]['raw'][-1]:.3f} s; "
                  f"whole {seen[name]['ours_whole'][-1]:.2f} s vs raw {seen[name]['raw_whole'][-1]:.2f} s", flush=True)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    names = {"cpt": ("CPT (full, packed)", cpt_packing),
             "sft": ("SFT (full, assistant-only loss, packed, no cross-example attention)", sft_packing)}
    print(f"\ndevice {device}, bf16 {env.bf16}, preset {args.preset}, batch {args.batch}, seq {args.seq}, "
          f"{n} steps x {args.rounds} rounds, the stage and the raw loop in turn first\n")
    print("| stage | Doppel tokens/s (steady) | raw loop tokens/s (steady) | ratio | Doppel whole run | raw whole loop "
          "| ratio | real-token fraction |\n|---|---|---|---|---|---|---|---|")
    for key, (label, packing) in names.items():
        got = seen[key]
        ours, raw = per_step[key] / median(got["ours"]), per_step[key] / median(got["raw"])
        ours_whole, raw_whole = n * per_step[key] / median(got["ours_whole"]), n * per_step[key] / median(got["raw_whole"])
        print(f"| {label} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.2f} | {ours_whole:,.0f} | {raw_whole:,.0f} | "
              f"{ours_whole / raw_whole:.2f} | {packing['real_token_fraction']:.3f} |")
    print(f"\npeak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
