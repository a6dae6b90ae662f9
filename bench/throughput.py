"""Training tokens/s of a preset through the HF Trainer, fp32 vs bf16 autocast, on this machine.

Usage: .venv/bin/python bench/throughput.py [--preset small] [--steps 12] [--batch 16] [--seq 256]
Uses the demo corpus (generated into a temporary folder) so the token stream is realistic.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=256)
    args = parser.parse_args()

    from transformers import Trainer, TrainingArguments, default_data_collator

    from doppel.demo import generate_demo_sources
    from doppel.modeling import quiet_libraries
    from doppel.modeling.presets import build_model
    from doppel.modeling.tokenizer import train_tokenizer
    from doppel.train.packing import pack_blocks

    quiet_libraries()
    with tempfile.TemporaryDirectory() as tmp:
        generate_demo_sources(Path(tmp), seed=0, scale=0.3)
        texts = [p.read_text() for p in sorted(Path(tmp).rglob("*")) if p.is_file()]
    tok = train_tokenizer(texts, 4096)
    blocks, _ = pack_blocks(texts, tok, args.seq)
    blocks = (blocks * (1 + args.batch * (args.steps + 2) // len(blocks)))[: args.batch * (args.steps + 2)]
    print(f"| preset | dtype | tokens/s |\n|---|---|---|")
    for bf16 in (False, True):
        model = build_model(args.preset, tok)
        targs = TrainingArguments(output_dir=tempfile.mkdtemp(), max_steps=args.steps + 2,
                                  per_device_train_batch_size=args.batch, use_cpu=True, bf16=bf16,
                                  report_to=[], save_strategy="no", disable_tqdm=True, logging_steps=1000)
        trainer = Trainer(model=model, args=targs, train_dataset=blocks, data_collator=default_data_collator)
        marks: list[float] = []
        from transformers import TrainerCallback

        class Clock(TrainerCallback):
            def on_step_end(self, *a, **k):
                marks.append(time.perf_counter())

        trainer.add_callback(Clock())
        trainer.train()
        # the first two steps warm up kernels and allocators; time the rest
        rate = args.steps * args.batch * args.seq / (marks[-1] - marks[1])
        print(f"| {args.preset} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M) | "
              f"{'bf16 autocast' if bf16 else 'fp32'} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
