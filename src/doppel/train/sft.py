"""Supervised fine-tuning on the person's answers (TRL): LoRA, QLoRA, full or last layers only,
with assistant-only loss."""

from __future__ import annotations

from doppel.config import SFTConfig
from doppel.modeling.identity import base_identity
from doppel.modeling.loading import ModelSource, write_meta
from doppel.records import Example, read_jsonl
from doppel.train.common import TrainEnv, checkpoint_dir, finish_training, save_trained, trainer_kwargs
from doppel.train.methods import ADAPTER_METHODS, check_method, prepare
from doppel.workspace import StageResult, Workspace


def run(cfg: SFTConfig, base: ModelSource, env: TrainEnv, ws: Workspace, run_key: str) -> StageResult:
    from datasets import Dataset
    from trl import SFTConfig as TrlSFTConfig
    from trl import SFTTrainer

    stage_dir = ws.model_dir("sft")
    check_method(cfg.method, env.device, "train.sft")
    model, tokenizer = prepare(base, cfg.method, cfg.lora, cfg.train_last_layers, env.device)
    examples = read_jsonl(ws.data / "sft" / "train.jsonl", Example)
    dataset = Dataset.from_list([{"messages": [m.model_dump() for m in ex.messages]} for ex in examples])

    ckpt, resume_from = checkpoint_dir(stage_dir, run_key)
    args = TrlSFTConfig(output_dir=str(ckpt), max_length=cfg.seq_len,
                        assistant_only_loss=cfg.assistant_only_loss,
                        dataset_num_proc=None, **trainer_kwargs(cfg, env))
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.train(resume_from_checkpoint=resume_from)

    adapter = cfg.method in ADAPTER_METHODS
    folder = "adapter" if adapter else "model"
    identity = base_identity(base.path, model.config, tokenizer) if adapter else None
    save_trained(trainer, tokenizer, stage_dir / folder, identity)
    summary = finish_training(trainer, stage_dir, resume_from)
    summary.update(method=cfg.method, examples=len(examples), base=base.describe())
    write_meta(stage_dir, ws.root, "adapter" if adapter else "full", folder,
               base.path if adapter else None, method=cfg.method)
    return StageResult(summary, [stage_dir / folder, stage_dir / "meta.json"])
