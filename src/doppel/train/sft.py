"""Supervised fine-tuning on the person's answers (TRL): LoRA, QLoRA, full or last layers only,
with assistant-only loss."""

from __future__ import annotations

from doppel.config import SFTConfig
from doppel.modeling.identity import identity_of
from doppel.modeling.loading import ModelSource, write_meta
from doppel.modeling.templates import check_same_template, preflight
from doppel.modeling.tokenizer import load_tokenizer
from doppel.records import Example, read_jsonl
from doppel.train.common import TrainEnv, callbacks, checkpoint_dir, finish_training, save_trained, trainer_kwargs
from doppel.train.methods import ADAPTER_METHODS, check_method, prepare
from doppel.workspace import StageResult, Workspace


def run(cfg: SFTConfig, base: ModelSource, env: TrainEnv, ws: Workspace, run_key: str,
        template: str = "auto") -> StageResult:
    from datasets import Dataset
    from trl import SFTConfig as TrlSFTConfig
    from trl import SFTTrainer

    stage_dir = ws.model_dir("sft")
    check_method(cfg.method, env.device, "train.sft")
    prepared = prepare(base, cfg.method, cfg.lora, cfg.train_last_layers, env.device, template,
                       cfg.train_new_tokens)
    model, tokenizer = prepared.model, prepared.tokenizer
    preflight(tokenizer, prepared.untrained, prepared.trained)
    trained_template = tokenizer.chat_template
    examples = read_jsonl(ws.data / "sft" / "train.jsonl", Example)
    if (ws.data / "sft" / "synth.jsonl").exists():  # teacher-made examples (synth stage)
        examples += read_jsonl(ws.data / "sft" / "synth.jsonl", Example)
    dataset = Dataset.from_list([{"messages": [m.model_dump() for m in ex.messages]} for ex in examples])

    held_path = ws.data / "heldout" / "dialogues.jsonl"
    held = read_jsonl(held_path, Example) if cfg.eval_steps and held_path.exists() else []
    eval_set = Dataset.from_list([{"messages": [m.model_dump() for m in ex.messages]} for ex in held]) if held else None

    ckpt, resume_from = checkpoint_dir(stage_dir, run_key)
    args = TrlSFTConfig(output_dir=str(ckpt), max_length=cfg.seq_len,
                        assistant_only_loss=cfg.assistant_only_loss,
                        dataset_num_proc=None, **trainer_kwargs(cfg, env, has_eval=bool(held)))
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, eval_dataset=eval_set,
                         processing_class=tokenizer, callbacks=callbacks(cfg, stage_dir))
    trainer.train(resume_from_checkpoint=resume_from)

    adapter = cfg.method in ADAPTER_METHODS
    folder = "adapter" if adapter else "model"
    identity = identity_of(base.path) if adapter else None
    save_trained(trainer, tokenizer, stage_dir / folder, identity)
    check_same_template(trained_template, load_tokenizer(stage_dir / folder))
    summary = finish_training(trainer.state, stage_dir, resume_from)
    summary.update(method=cfg.method, examples=len(examples), base=base.describe(),
                   added_tokens=tokenizer.convert_ids_to_tokens(prepared.added_tokens))
    write_meta(stage_dir, ws.root, "adapter" if adapter else "full", folder,
               base.path if adapter else None, method=cfg.method)
    return StageResult(summary, [stage_dir / folder, stage_dir / "meta.json"])
