"""Continued pretraining on the person's own text: full, LoRA, or last layers and head only."""

from __future__ import annotations

from doppel.config import CPTConfig
from doppel.modeling.identity import base_identity
from doppel.modeling.loading import ModelSource, write_meta
from doppel.records import TextChunk, read_jsonl
from doppel.train.common import TrainEnv, checkpoint_dir, finish_training, pack_blocks, save_trained, trainer_kwargs
from doppel.train.methods import prepare
from doppel.workspace import StageResult, Workspace, atomic_dir


def run(cfg: CPTConfig, base: ModelSource, env: TrainEnv, ws: Workspace, run_key: str) -> StageResult:
    from transformers import Trainer, TrainingArguments, default_data_collator

    stage_dir = ws.model_dir("cpt")
    model, tokenizer = prepare(base, cfg.method, cfg.lora, cfg.train_last_layers, env.device)
    chunks = read_jsonl(ws.data / "cpt" / "train.jsonl", TextChunk)
    blocks, packing = pack_blocks([c.full_text() for c in chunks], tokenizer, cfg.seq_len)

    ckpt, resume_from = checkpoint_dir(stage_dir, run_key)
    args = TrainingArguments(output_dir=str(ckpt), **trainer_kwargs(cfg, env))
    trainer = Trainer(model=model, args=args, train_dataset=blocks, data_collator=default_data_collator)
    trainer.train(resume_from_checkpoint=resume_from)

    outputs = [stage_dir / "model", stage_dir / "meta.json"]
    if cfg.method == "lora":
        # Later stages build on a full model, so the adapter is merged here and kept too.
        save_trained(trainer, tokenizer, stage_dir / "adapter",
                     base_identity(base.path, model.config, tokenizer))
        with atomic_dir(stage_dir / "model") as tmp:
            trainer.model.merge_and_unload().save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        outputs.append(stage_dir / "adapter")
    else:
        save_trained(trainer, tokenizer, stage_dir / "model")
    summary = finish_training(trainer, stage_dir, resume_from)
    summary.update(method=cfg.method, packing=packing, base=base.describe())
    write_meta(stage_dir, ws.root, "full", "model", base.path, method=cfg.method)
    return StageResult(summary, outputs)
