"""The training stages: pretraining, continued pretraining, SFT, preference tuning."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from doppel.config.base import Strict


class LoraSettings(Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class TrainStage(Strict):
    enabled: bool = True
    epochs: float = Field(1.0, gt=0)
    max_steps: int = -1
    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    seq_len: int = Field(256, ge=8)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    save_steps: int = Field(50, ge=1)
    save_total_limit: int = Field(2, ge=1)
    logging_steps: int = Field(10, ge=1)
    # Held-out loss every `eval_steps` (0: off); stop after `early_stopping_patience`
    # evaluations without improvement (0: never) and keep the best checkpoint.
    eval_steps: int = Field(0, ge=0)
    early_stopping_patience: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _early_stopping_needs_eval(self):
        if self.early_stopping_patience and not self.eval_steps:
            raise ValueError("early_stopping_patience needs eval_steps > 0 (how often to measure held-out loss)")
        return self


class PretrainConfig(TrainStage):
    pass


class CPTConfig(TrainStage):
    # full | lora | qlora (CUDA) | freeze (train only the last `train_last_layers` layers, the final norm and the head)
    method: Literal["full", "lora", "qlora", "freeze"] = "full"
    lora: LoraSettings = LoraSettings()
    train_last_layers: int = Field(2, ge=1)
    learning_rate: float = Field(5e-4, gt=0)


class SFTConfig(TrainStage):
    # lora | qlora (4-bit base, CUDA only) | full | freeze (last layers and head only)
    method: Literal["lora", "qlora", "full", "freeze"] = "lora"
    lora: LoraSettings = LoraSettings()
    train_last_layers: int = Field(2, ge=1)
    learning_rate: float = Field(2e-3, gt=0)
    assistant_only_loss: bool = True
    # Train the embedding rows of chat-template tokens that start untrained (LoRA/QLoRA).
    train_new_tokens: bool = True


class PreferenceConfig(TrainStage):
    # Off by default: it needs preference pairs (data/pref/train.jsonl, from the synth stage).
    enabled: bool = False
    method: Literal["dpo", "cpo", "simpo", "orpo", "kto"] = "dpo"
    beta: float = Field(0.1, gt=0)
    simpo_gamma: float = Field(0.5, ge=0)
    learning_rate: float = Field(5e-5, gt=0)
    lora: LoraSettings = LoraSettings()


class TrainConfig(Strict):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool | Literal["auto"] = "auto"
    pretrain: PretrainConfig = PretrainConfig()
    cpt: CPTConfig = CPTConfig()
    sft: SFTConfig = SFTConfig()
    pref: PreferenceConfig = PreferenceConfig()
