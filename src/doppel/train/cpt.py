"""Continued pretraining on the person's own text: full, LoRA, or last layers and head only."""

from __future__ import annotations

from doppel.config import CPTConfig
from doppel.modeling.identity import identity_of
from doppel.modeling.loading import ModelSource, load_model, untie_if_diverged, write_meta
from doppel.records import TextChunk, read_jsonl
from doppel.train.arguments import callbacks, heldout_notice, trainer_kwargs
from doppel.train.checkpoints import checkpoint_dir
from doppel.train.env import TrainEnv
from doppel.train.outputs import finish_training, save_trained
from doppel.train.packing import pack_blocks
from doppel.train.running import run_training
from doppel.train.methods import ADAPTER_METHODS, check_method, embedding_optimizer, prepare, token_rows
from doppel.train.throughput import stage_throughput
from doppel.train.distributed import barrier, is_main
from doppel.workspace import StageResult, Workspace, atomic_dir


def run(cfg: CPTConfig, base: ModelSource, env: TrainEnv, ws: Workspace, run_key: str) -> StageResult:
    from transformers import Trainer, TrainingArguments, default_data_collator

    stage_dir = ws.model_dir("cpt")
    check_method(cfg.method, env.device, "train.cpt")
    embeddings = cfg.embedding_learning_rate is not None or bool(cfg.embedding_tokens)
    prepared = prepare(base, cfg.method, cfg.lora, cfg.train_last_layers, env.device, train_embeddings=embeddings)
    model, tokenizer = prepared.model, prepared.tokenizer
    rows = token_rows(tokenizer, cfg.embedding_tokens, "train.cpt.embedding_tokens") if cfg.embedding_tokens else None
    optimizer = embedding_optimizer(model, cfg.learning_rate, cfg.weight_decay, cfg.embedding_learning_rate,
                                    rows) if embeddings else None
    chunks = read_jsonl(ws.data / "cpt" / "train.jsonl", TextChunk)
    blocks, packing = pack_blocks([c.full_text() for c in chunks], tokenizer, cfg.seq_len)

    held_path = ws.data / "heldout" / "text.jsonl"
    held = read_jsonl(held_path, TextChunk) if cfg.eval_steps and held_path.exists() else []
    heldout_notice(cfg, bool(held), "cpt", "texts of the person (data/heldout/text.jsonl is empty)")
    eval_blocks = pack_blocks([c.full_text() for c in held], tokenizer, cfg.seq_len)[0] if held else None

    ckpt, resume_from = checkpoint_dir(stage_dir, run_key, env.resume)
    args = TrainingArguments(output_dir=str(ckpt), **trainer_kwargs(cfg, env, has_eval=bool(held)))
    trainer = Trainer(model=model, args=args, train_dataset=blocks, eval_dataset=eval_blocks,
                      data_collator=default_data_collator, callbacks=callbacks(cfg, stage_dir),
                      optimizers=(optimizer, None))
    processes = run_training(trainer, resume_from, "cpt", loss_only=True,
                             prefix_cache_mb=cfg.frozen_cache_mb)
    processes.update(stage_throughput(model, packing, "blocks", cfg, env, processes.get("step_seconds")))
    state = trainer.state

    outputs = [stage_dir / "model", stage_dir / "meta.json"]
    if cfg.method in ADAPTER_METHODS:
        # Later stages build on a full model, so the adapter is merged and kept too. A QLoRA
        # adapter is merged into the base reloaded in 16 bits, never into the 4-bit one.
        save_trained(trainer, tokenizer, stage_dir / "adapter", identity_of(base.path))
        if is_main():
            if cfg.method == "qlora":
                del trainer, model
                merge_src = ModelSource("cpt", base.path, adapter=str(stage_dir / "adapter"))
                merged, _ = load_model(merge_src, device=env.device, dtype="bfloat16")
                merged = merged.merge_and_unload()
            else:
                merged = trainer.model.merge_and_unload()
            untie_if_diverged(merged)
            with atomic_dir(stage_dir / "model") as tmp:
                merged.save_pretrained(tmp)
                tokenizer.save_pretrained(tmp)
        barrier()
        outputs.append(stage_dir / "adapter")
    else:
        save_trained(trainer, tokenizer, stage_dir / "model")
    summary = finish_training(state, stage_dir, resume_from)
    summary.update(processes)
    summary.update(method=cfg.method, packing=packing, base=base.describe())
    if embeddings:
        summary.update(embedding_learning_rate=cfg.embedding_learning_rate or cfg.learning_rate,
                       embedding_rows=len(rows) if rows is not None else "all")
    if is_main():
        write_meta(stage_dir, ws.root, "full", "model", base.path, method=cfg.method)
    return StageResult(summary, outputs)
