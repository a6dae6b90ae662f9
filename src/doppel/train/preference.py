"""Preference tuning on top of the SFT model: DPO, CPO, SimPO, ORPO and KTO (TRL).

The SFT adapter is merged into its base in memory and a fresh LoRA adapter is trained on
top, so the reference model (the adapter switched off) is the SFT policy itself. The
saved result records both adapters: base + SFT adapter (merged) + preference adapter.
"""

from __future__ import annotations

import os

from doppel.config import PreferenceConfig
from doppel.errors import UserError
from doppel.modeling.identity import identity_of
from doppel.modeling.loading import ModelSource, load_model, write_meta
from doppel.records import PreferencePair, read_jsonl
from doppel.train.arguments import callbacks, trainer_kwargs
from doppel.train.checkpoints import checkpoint_dir
from doppel.train.env import TrainEnv
from doppel.train.lora import lora_config
from doppel.train.outputs import finish_training, save_trained
from doppel.train.running import run_training
from doppel.train.distributed import is_main
from doppel.workspace import StageResult, Workspace


def pair_rows(pairs: list[PreferencePair], method: str) -> list[dict]:
    """TRL's conversational rows: paired for DPO/CPO/SimPO/ORPO, unpaired with labels for KTO."""
    rows = []
    for p in pairs:
        prompt = [m.model_dump() for m in p.prompt]
        chosen = [{"role": "assistant", "content": p.chosen}]
        rejected = [{"role": "assistant", "content": p.rejected}]
        if method == "kto":
            rows.append({"prompt": prompt, "completion": chosen, "label": True})
            rows.append({"prompt": prompt, "completion": rejected, "label": False})
        else:
            rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
    return rows


def _trainer(method: str, cfg: PreferenceConfig, model, tokenizer, dataset, common: dict, output_dir: str,
             callbacks: list):
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    shared = dict(output_dir=output_dir, beta=cfg.beta, max_length=cfg.seq_len, **common)
    if method == "dpo":
        from trl import DPOConfig, DPOTrainer

        return DPOTrainer(model=model, args=DPOConfig(**shared), train_dataset=dataset, processing_class=tokenizer,
                          callbacks=callbacks)
    if method in ("cpo", "simpo"):
        from trl.experimental.cpo import CPOConfig, CPOTrainer

        extra = dict(loss_type="simpo", cpo_alpha=0.0, simpo_gamma=cfg.simpo_gamma) if method == "simpo" else {}
        return CPOTrainer(model=model, args=CPOConfig(**shared, **extra), train_dataset=dataset,
                          processing_class=tokenizer, callbacks=callbacks)
    if method == "orpo":
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        return ORPOTrainer(model=model, args=ORPOConfig(**shared), train_dataset=dataset, processing_class=tokenizer,
                           callbacks=callbacks)
    from trl.experimental.kto import KTOConfig, KTOTrainer

    return KTOTrainer(model=model, args=KTOConfig(**shared), train_dataset=dataset, processing_class=tokenizer,
                      callbacks=callbacks)


def run(cfg: PreferenceConfig, sft: ModelSource, env: TrainEnv, ws: Workspace, run_key: str) -> StageResult:
    from datasets import Dataset
    from peft import get_peft_model

    path = ws.data / "pref" / "train.jsonl"
    pairs = read_jsonl(path, PreferencePair) if path.exists() else []
    if not pairs:
        raise UserError(f"train.pref is enabled but {path} has no preference pairs; build them with the "
                        f"synth stage (or set train.pref.enabled: false)")
    stage_dir = ws.model_dir("pref")
    model, tokenizer = load_model(sft, device=env.device, dtype="float32", trainable=True)
    if sft.adapter:
        model = model.merge_and_unload()  # the reference policy is the SFT model itself
    model = get_peft_model(model, lora_config(cfg.lora, model=model))
    dataset = Dataset.from_list(pair_rows(pairs, cfg.method))

    ckpt, resume_from = checkpoint_dir(stage_dir, run_key, env.resume)
    trainer = _trainer(cfg.method, cfg, model, tokenizer, dataset, trainer_kwargs(cfg, env), str(ckpt),
                       callbacks(cfg, stage_dir))
    processes = run_training(trainer, resume_from, "pref")

    identity = identity_of(sft.path)
    save_trained(trainer, tokenizer, stage_dir / "adapter", identity)
    summary = finish_training(trainer.state, stage_dir, resume_from)
    summary.update(processes)
    summary.update(method=cfg.method, pairs=len(pairs), base=sft.describe())
    if is_main():
        write_meta(stage_dir, ws.root, "adapter", "adapter", sft.path,
                   pre_adapters=[sft.adapter] if sft.adapter else [], method=cfg.method)
    return StageResult(summary, [stage_dir / "adapter", stage_dir / "meta.json"])
