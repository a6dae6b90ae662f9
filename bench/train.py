"""Tokens/s of Doppel's CPT and SFT stages against a minimal raw PyTorch loop, in one run.

Same model (a fresh preset model), same batches, same length, same dtype and optimizer.
Also reports the real-token fraction of the batches each stage trains on and peak memory.

Each round trains the stage and the raw loop, in turn first (odd rounds the stage first,
even rounds the raw loop first); rounds repeat (`--rounds`) so that a slow spell of a shared
machine hits both sides. Two figures per side: steady-state
tokens/s (median step time, first two steps left out, then the median over rounds) and
whole-run tokens/s (the stage: its train_runtime, set-up included; the raw loop: first step's
start to last step's end; median over rounds). Each ratio is the median of the rounds' ratios. The stage's own step times come from the summary
it writes (`step_seconds`).

Usage: .venv/bin/python bench/train.py [--preset small] [--steps 30] [--rounds 4] [--batch 16] [--seq 256]
Prints a Markdown table for BENCHMARKS.md. Runs on CUDA when present (bf16 there too), where
it also prints each side's model-FLOPs utilisation and peak GPU memory; the GPU run of issue 5:

    .venv/bin/python bench/train.py --shape Qwen/Qwen2.5-0.5B --batch 8 --seq 1024 --steps 30 --rounds 2 --qlora

(`--qlora` needs bitsandbytes: `pip install bitsandbytes`.)

On a real pretrained base, LoRA on both sides (the raw loop trains the same PEFT adapter):

    .venv/bin/python bench/train.py --base smollm2-135m-instruct --method lora --batch 8 --seq 256 --steps 12 --rounds 4
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from statistics import median


def raw_loop(model, batches: list[dict], device: str, bf16: bool, lr: float) -> list[float]:
    """Seconds of each step of a bare forward/backward/AdamW loop over the batches.

    The same update the stages make: fused AdamW (the Trainer's default optimizer here),
    gradient clipping at 1.0 and a cosine schedule; no logging, checkpoints or callbacks.
    """
    import torch
    from transformers import get_cosine_schedule_with_warmup

    model.train().to(device)
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=lr, fused=True)
    sched = get_cosine_schedule_with_warmup(opt, 1, len(batches))
    ends = [time.perf_counter()]
    for batch in batches:
        inputs = {k: (torch.as_tensor(v).to(device) if not isinstance(v, bool) else v) for k, v in batch.items()}
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
            loss = model(**inputs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        ends.append(time.perf_counter())
    return [b - a for a, b in zip(ends, ends[1:])]


def reset_gpu_peak(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def gpu_peak_gib(device: str) -> float | None:
    if device != "cuda":
        return None
    import torch

    return torch.cuda.max_memory_allocated() / 2**30


def steady(steps: list[float]) -> float:
    """Median step time with the first two steps (one-off costs) left out."""
    return median(steps[2:])


def collate(rows: list[dict], size: int) -> list[dict]:
    return [{k: [r[k] for r in rows[i:i + size]] for k in rows[0]} for i in range(0, len(rows) - size + 1, size)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--shape", help="a known base model's architecture instead of a preset, e.g. "
                        "Qwen/Qwen2.5-0.5B (random weights, its own vocabulary size; see doppel.modeling.architectures)")
    parser.add_argument("--base", help="a real base model (hub name, folder, .gguf or the bundled "
                        "smollm2-135m-instruct) instead of a fresh preset model; its own tokenizer")
    parser.add_argument("--method", default="full", choices=["full", "lora"],
                        help="what both sides train: every weight, or the same LoRA adapter (r=16, all linear)")
    parser.add_argument("--qlora", action="store_true",
                        help="GPU only: also one SFT run with LoRA on the bf16 base and one with QLoRA (4-bit base), "
                        "with their peak GPU memory")
    args = parser.parse_args()

    from doppel.config import CPTConfig, LoraSettings, SFTConfig
    from doppel.data.chunking import chunk_document, token_counter
    from doppel.demo import generate_demo_sources
    from doppel.modeling import quiet_libraries
    from doppel.modeling.device import resolve_device, use_bf16
    from doppel.modeling.loading import ModelSource
    from doppel.modeling.presets import build_model
    from doppel.modeling.tokenizer import train_tokenizer
    from doppel.records import Document, Example, Message
    from doppel.train import cpt, sft
    from doppel.train.env import TrainEnv
    from doppel.train.packing import PackedCollator, pack_blocks, packed_dataset
    from doppel.workspace import Workspace, atomic_write_jsonl

    quiet_libraries()
    device = resolve_device("auto")
    env = TrainEnv(device, use_bf16("auto", device), 0)
    tmp = Path(tempfile.mkdtemp())
    generate_demo_sources(tmp / "src", seed=0, scale=0.3)
    texts = [p.read_text() for p in sorted((tmp / "src").rglob("*.md"))]
    lora = LoraSettings(r=16, alpha=32)
    if args.base:
        from doppel.modeling.bases import resolve_base
        from doppel.modeling.templates import ensure_pad
        from doppel.modeling.tokenizer import load_tokenizer

        base = Path(resolve_base(args.base))
        tok = load_tokenizer(base)
        ensure_pad(tok)
    else:
        tok = train_tokenizer(texts, 4096)
        base = tmp / "base"

    def make_model():
        model = _make_model()
        if args.method == "lora":
            from peft import get_peft_model

            from doppel.train.lora import lora_config

            model = get_peft_model(model, lora_config(lora))
        return model

    def _make_model():
        if args.base:
            from transformers import AutoModelForCausalLM

            return AutoModelForCausalLM.from_pretrained(base, dtype="float32")
        if not args.shape:
            return build_model(args.preset, tok)
        import torch
        from transformers import AutoModelForCausalLM

        from doppel.modeling.architectures import config_for

        config = config_for(args.shape)
        config.update(dict(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                           pad_token_id=tok.pad_token_id))
        torch.manual_seed(0)
        return AutoModelForCausalLM.from_config(config)

    if not args.base:
        _make_model().save_pretrained(base)
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
                reset_gpu_peak(device)
                if side == "ours":
                    result = module.run(config(method=args.method, lora=lora, **common), ModelSource("b", str(base)),
                                        env, ws, f"bench{r}")
                    assert result.summary["steps"] == n
                    seen[name]["ours"].append(result.summary["step_seconds"]["median"])
                    seen[name]["ours_whole"].append(result.summary["train_seconds"])
                else:
                    steps = raw_loop(make_model(), batches, device, env.bf16, 5e-4)
                    seen[name]["raw"].append(steady(steps))
                    seen[name]["raw_whole"].append(sum(steps))
                seen[name][f"{side}_gib"] = gpu_peak_gib(device)
            print(f"round {r + 1} {name}: step {seen[name]['ours'][-1]:.3f} s vs raw {seen[name]['raw'][-1]:.3f} s; "
                  f"whole {seen[name]['ours_whole'][-1]:.2f} s vs raw {seen[name]['raw_whole'][-1]:.2f} s", flush=True)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    names = {"cpt": (f"CPT ({args.method}, packed)", cpt_packing),
             "sft": (f"SFT ({args.method}, assistant-only loss, packed, no cross-example attention)", sft_packing)}
    print(f"\ndevice {device}, bf16 {env.bf16}, model {args.base or args.shape or args.preset}, batch {args.batch}, seq {args.seq}, "
          f"{n} steps x {args.rounds} rounds, the stage and the raw loop in turn first\n")
    print("| stage | Doppel tokens/s (steady) | raw loop tokens/s (steady) | ratio | Doppel whole run | raw whole loop "
          "| ratio | real-token fraction |\n|---|---|---|---|---|---|---|---|")
    for key, (label, packing) in names.items():
        got = seen[key]
        ours, raw = per_step[key] / median(got["ours"]), per_step[key] / median(got["raw"])
        ours_whole, raw_whole = n * per_step[key] / median(got["ours_whole"]), n * per_step[key] / median(got["raw_whole"])
        # Ratios are taken within each round (both sides ran minutes apart) and then the median.
        ratio = median([r / o for o, r in zip(got["ours"], got["raw"])])
        ratio_whole = median([r / o for o, r in zip(got["ours_whole"], got["raw_whole"])])
        print(f"| {label} | {ours:,.0f} | {raw:,.0f} | {ratio:.2f} | {ours_whole:,.0f} | {raw_whole:,.0f} | "
              f"{ratio_whole:.2f} | {packing['real_token_fraction']:.3f} |")
    print(f"\npeak RSS {peak:,.0f} MB")
    if device == "cuda":
        gpu_figures(seen, per_step, names, make_model, args, env, common, tmp, ws, tok)


def gpu_figures(seen, per_step, names, make_model, args, env, common, tmp, ws, tok) -> None:
    """MFU and peak GPU memory of both sides, and (--qlora) LoRA against QLoRA memory."""
    import torch

    from doppel.config import SFTConfig
    from doppel.modeling.loading import ModelSource
    from doppel.train import sft
    from doppel.train.throughput import flops_per_token, peak_tflops

    name = torch.cuda.get_device_name()
    peak = peak_tflops(name)
    model = make_model()
    flops = flops_per_token(model, args.seq)
    params = sum(p.numel() for p in model.parameters())
    del model
    print(f"\n{name}, {params / 1e6:,.0f}M parameters, {flops / 1e9:.2f} GFLOP per trained token "
          f"(doppel.train.throughput), bf16 peak {peak} TFLOP/s\n")
    print("| stage | Doppel MFU | raw loop MFU | Doppel peak GPU memory | raw peak GPU memory |\n|---|---|---|---|---|")
    for key, (label, _) in names.items():
        got = seen[key]
        mfu = [flops * per_step[key] / median(got[side]) / (peak * 1e12) if peak else float("nan")
               for side in ("ours", "raw")]
        print(f"| {label} | {mfu[0]:.1%} | {mfu[1]:.1%} | {got['ours_gib']:.1f} GiB | {got['raw_gib']:.1f} GiB |")
    if not args.qlora:
        return
    # Adapters on the base as users have it (bf16 weights), then on the same base in 4 bits.
    base16 = tmp / "base-bf16"
    make_model().to(torch.bfloat16).save_pretrained(base16)
    tok.save_pretrained(base16)
    print("\n| SFT method | tokens/s (steady) | MFU (stage summary) | peak GPU memory |\n|---|---|---|---|")
    for method in ("lora", "qlora"):
        reset_gpu_peak("cuda")
        result = sft.run(SFTConfig(method=method, **common), ModelSource("b16", str(base16)), env, ws, method)
        s = result.summary
        print(f"| {method} | {s['tokens_per_second']:,.0f} | {s.get('mfu') or float('nan'):.1%} | "
              f"{gpu_peak_gib('cuda'):.1f} GiB |")


if __name__ == "__main__":
    main()
