"""Pretraining a small Llama-architecture model from scratch on the background corpus."""

from __future__ import annotations

from doppel.config import ModelConfig, PretrainConfig
from doppel.modeling.loading import write_meta
from doppel.modeling.presets import build_model
from doppel.modeling.tokenizer import load_tokenizer
from doppel.records import TextChunk, read_jsonl
from doppel.train.arguments import callbacks, heldout_notice, trainer_kwargs
from doppel.train.checkpoints import checkpoint_dir
from doppel.train.env import TrainEnv
from doppel.train.outputs import finish_training, save_trained
from doppel.train.packing import pack_blocks
from doppel.train.running import run_training
from doppel.train.throughput import stage_throughput
from doppel.train.distributed import is_main
from doppel.workspace import StageResult, Workspace


def run(cfg: PretrainConfig, model_cfg: ModelConfig, env: TrainEnv, ws: Workspace, run_key: str) -> StageResult:
    from transformers import Trainer, TrainingArguments, default_data_collator

    stage_dir = ws.model_dir("pretrain")
    tokenizer = load_tokenizer(ws.tokenizer)
    chunks = read_jsonl(ws.data / "pretrain" / "train.jsonl", TextChunk)
    blocks, packing = pack_blocks([c.full_text() for c in chunks], tokenizer, cfg.seq_len)
    model = build_model(model_cfg.preset, tokenizer, seed=env.seed)
    # Background documents the build kept out (data.background_heldout_fraction).
    held_path = ws.data / "heldout" / "background.jsonl"
    held = read_jsonl(held_path, TextChunk) if cfg.eval_steps and held_path.exists() else []
    eval_blocks = pack_blocks([c.full_text() for c in held], tokenizer, cfg.seq_len)[0] if held else None
    heldout_notice(cfg, bool(held), "pretrain", "background documents (data.background_heldout_fraction is 0, "
                                                "or there are fewer than two background documents)")

    ckpt, resume_from = checkpoint_dir(stage_dir, run_key, env.resume)
    args = TrainingArguments(output_dir=str(ckpt), **trainer_kwargs(cfg, env, has_eval=bool(held)))
    trainer = Trainer(model=model, args=args, train_dataset=blocks, eval_dataset=eval_blocks,
                      data_collator=default_data_collator, callbacks=callbacks(cfg, stage_dir))
    processes = run_training(trainer, resume_from, "pretrain", loss_only=True,
                             prefix_cache_mb=cfg.frozen_cache_mb)
    processes.update(stage_throughput(model, packing, "blocks", cfg, env, processes.get("step_seconds")))

    save_trained(trainer, tokenizer, stage_dir / "model")
    summary = finish_training(trainer.state, stage_dir, resume_from)
    summary.update(processes)
    summary.update(parameters=sum(p.numel() for p in model.parameters()), packing=packing)
    if is_main():
        write_meta(stage_dir, ws.root, "full", "model", None, preset=model_cfg.preset)
    return StageResult(summary, [stage_dir / "model", stage_dir / "meta.json"])
