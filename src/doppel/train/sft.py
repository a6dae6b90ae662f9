"""Supervised fine-tuning on the person's answers (TRL): LoRA, QLoRA, full or last layers only,
with assistant-only loss."""

from __future__ import annotations

from doppel.config import SFTConfig
from doppel.errors import UserError
from doppel.modeling.identity import identity_of
from doppel.modeling.loading import ModelSource, write_meta
from doppel.modeling.templates import check_same_template, preflight, with_persona_default
from doppel.modeling.tokenizer import load_tokenizer
from doppel.records import Example, read_jsonl
from doppel.train.arguments import callbacks, heldout_notice, trainer_kwargs
from doppel.train.checkpoints import checkpoint_dir
from doppel.train.env import TrainEnv
from doppel.train.outputs import finish_training, save_trained
from doppel.train.running import run_training
from doppel.train.methods import ADAPTER_METHODS, check_method, prepare
from doppel.train.packing import PackedCollator, packed_dataset
from doppel.train.throughput import stage_throughput
from doppel.train.distributed import is_main
from doppel.workspace import StageResult, Workspace


def run(cfg: SFTConfig, base: ModelSource, env: TrainEnv, ws: Workspace, run_key: str,
        template: str = "auto", system_prompt: str | None = None, synth: bool = True) -> StageResult:
    """`system_prompt` (the persona's) becomes the template's default system message; `synth`
    says whether the synth stage is on, so its examples are trained on (never stale ones)."""
    from datasets import Dataset
    from trl import SFTConfig as TrlSFTConfig

    stage_dir = ws.model_dir("sft")
    check_method(cfg.method, env.device, "train.sft")
    prepared = prepare(base, cfg.method, cfg.lora, cfg.train_last_layers, env.device, template,
                       cfg.train_new_tokens)
    model, tokenizer = prepared.model, prepared.tokenizer
    if system_prompt and tokenizer.chat_template:
        tokenizer.chat_template = with_persona_default(tokenizer.chat_template, system_prompt)
    preflight(tokenizer, prepared.untrained, prepared.trained)
    trained_template = tokenizer.chat_template
    examples = read_jsonl(ws.data / "sft" / "train.jsonl", Example)
    if synth and (ws.data / "sft" / "synth.jsonl").exists():  # the synth stage's examples
        examples += read_jsonl(ws.data / "sft" / "synth.jsonl", Example)
    rows, packing = _rows(examples, tokenizer, cfg)
    if not rows:
        raise UserError(f"no SFT example has an assistant turn within train.sft.seq_len={cfg.seq_len} tokens "
                        f"({packing['dropped']}); raise seq_len or check data/sft/train.jsonl")

    held_path = ws.data / "heldout" / "dialogues.jsonl"
    held = read_jsonl(held_path, Example) if cfg.eval_steps and held_path.exists() else []
    eval_rows = _rows(held, tokenizer, cfg)[0] if held else []
    heldout_notice(cfg, bool(eval_rows), "sft", "dialogues (data/heldout/dialogues.jsonl is empty)")

    trainer_cls = _packed_trainer_class()
    ckpt, resume_from = checkpoint_dir(stage_dir, run_key, env.resume)
    # The examples arrive tokenized, labelled (assistant-only) and packed: TRL's own dataset
    # preparation is skipped and the collator keeps the per-example position ids.
    args = TrlSFTConfig(output_dir=str(ckpt), max_length=cfg.seq_len, dataset_kwargs={"skip_prepare_dataset": True},
                        remove_unused_columns=False, **trainer_kwargs(cfg, env, has_eval=bool(eval_rows)))
    trainer = trainer_cls(model=model, args=args, train_dataset=Dataset.from_list(rows),
                          eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
                          processing_class=tokenizer, data_collator=PackedCollator(tokenizer.pad_token_id),
                          callbacks=callbacks(cfg, stage_dir))
    processes = run_training(trainer, resume_from, "sft", loss_only=True,
                             prefix_cache_mb=cfg.frozen_cache_mb)
    processes.update(stage_throughput(model, packing, "rows", cfg, env, processes.get("step_seconds")))

    adapter = cfg.method in ADAPTER_METHODS
    folder = "adapter" if adapter else "model"
    identity = identity_of(base.path) if adapter else None
    save_trained(trainer, tokenizer, stage_dir / folder, identity)
    check_same_template(trained_template, load_tokenizer(stage_dir / folder))
    summary = finish_training(trainer.state, stage_dir, resume_from)
    summary.update(processes)
    summary.update(method=cfg.method, examples=len(examples), packing=packing, base=base.describe(),
                   added_tokens=tokenizer.convert_ids_to_tokens(prepared.added_tokens))
    if is_main():
        write_meta(stage_dir, ws.root, "adapter" if adapter else "full", folder,
                   base.path if adapter else None, method=cfg.method)
    return StageResult(summary, [stage_dir / folder, stage_dir / "meta.json"])


def _packed_trainer_class():
    from transformers import Trainer
    from trl import SFTTrainer

    class PackedSFTTrainer(SFTTrainer):
        """TRL's SFT trainer with the model's own loss on our packed, labelled rows.

        TRL's fused output head also computes entropy and token accuracy every step; on
        small vocabularies that costs more than the loss itself (bench/train.py).
        """

        compute_loss = Trainer.compute_loss

    return PackedSFTTrainer


def _rows(examples: list[Example], tokenizer, cfg: SFTConfig) -> tuple[list[dict], dict]:
    conversations = [[m.model_dump() for m in ex.messages] for ex in examples]
    return packed_dataset(conversations, tokenizer, cfg.seq_len, cfg.assistant_only_loss, pack_rows=cfg.packing)
