"""Step time of a LoRA training step with the model's own loss against the lean loss (the output
layer only at labelled positions, src/doppel/modeling/lean_loss.py), on a real base; with
--prefix-cache, the lean loss against the lean loss with the frozen layers' output kept per row
(src/doppel/modeling/frozen_prefix.py: a row seen before runs only the trained layers).

    .venv/bin/python bench/lean_loss.py [--base smollm2-135m-instruct] [--last-layers 8] [--steps 5]
                                        [--batch 8] [--seq 256] [--labelled 0.4] [--prefix-cache]

Rows are random token ids; a `--labelled` share of each row's positions carries a label, in
answer-like runs of 24 tokens (the rest is -100, as the system prompt and questions of SFT are).
Alternates the two sides step by step so that a slow spell of a shared machine hits both, leaves
out each side's first two steps, and prints the median seconds per step and tokens/s of each,
the ratio, and the largest loss difference between the two on the same batch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="smollm2-135m-instruct")
    parser.add_argument("--last-layers", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--labelled", type=float, default=0.4)
    parser.add_argument("--prefix-cache", action="store_true")
    args = parser.parse_args()

    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from doppel.config import LoraSettings
    from doppel.modeling.bases import resolve_base
    from doppel.train.lora import lora_config
    from doppel.modeling.lean_loss import causal_lm, lean_training_forward

    base = resolve_base(args.base)
    model = AutoModelForCausalLM.from_pretrained(str(getattr(base, "path", base)), dtype=torch.float32)
    model = get_peft_model(model, lora_config(LoraSettings(r=16, alpha=32, last_layers=args.last_layers),
                                              model=model))
    model.train()
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (args.batch, args.seq), generator=gen)
    labels = torch.full_like(ids, -100)
    run = 24
    every = max(run, int(run / args.labelled))
    for start in range(0, args.seq, every):
        labels[:, start:start + run] = ids[:, start:start + run]
    share = float((labels[:, 1:] != -100).float().mean())
    lean_model = causal_lm(model)
    if args.prefix_cache:
        from doppel.modeling.frozen_prefix import attach
        from doppel.modeling.lean_loss import labelled_loss

        prefix = attach(lean_model, 1024)
        if prefix is None:
            raise SystemExit("the frozen-layer cache does not apply to this model and setting")
        labelled_loss(lean_model, labels, None, prefix, input_ids=ids, use_cache=False)  # keeps the rows
        sides = ("lean", "cached")
    else:
        sides = ("own", "lean")

    def step_loss(side):
        if side == "own":
            lean_model.__dict__.pop("forward", None)
            model._doppel_lean_forward = False
            return model(input_ids=ids, labels=labels).loss
        if not args.prefix_cache:
            lean_training_forward(model)
            return model(input_ids=ids, labels=labels).loss
        return labelled_loss(lean_model, labels, None, prefix if side == "cached" else None,
                             input_ids=ids, use_cache=False)[0]

    times = {side: [] for side in sides}
    diffs = []
    for step in range(args.steps + 2):
        losses = {}
        for side in (sides if step % 2 == 0 else sides[::-1]):
            start = time.perf_counter()
            loss = step_loss(side)
            loss.backward()
            model.zero_grad()  # no update: both sides see the same weights
            times[side].append(time.perf_counter() - start)
            losses[side] = float(loss)
        diffs.append(abs(losses[sides[0]] - losses[sides[1]]))
    tokens = args.batch * args.seq
    slow, fast = median(times[sides[0]][2:]), median(times[sides[1]][2:])
    print(f"| {args.base} | LoRA r16, last {args.last_layers} layers | {args.batch}x{args.seq}, "
          f"{share:.0%} labelled | {sides[0]} {slow:.2f} s ({tokens / slow:,.0f} tok/s) | {sides[1]} {fast:.2f} s "
          f"({tokens / fast:,.0f} tok/s) | {slow / fast:.2f}x | {max(diffs):.1e} |")


if __name__ == "__main__":
    main()
