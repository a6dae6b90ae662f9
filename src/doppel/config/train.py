"""The training stages: pretraining, continued pretraining, SFT, preference tuning, reward model, RL."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from doppel.config.base import Strict


class LoraSettings(Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    # Adapt only the last N decoder layers (empty: all). Backpropagation then stops at the
    # lowest adapted layer, so a step costs far less on a CPU; the voice lives mostly there.
    last_layers: int | None = Field(None, ge=1)


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
    # Recompute activations in the backward pass: less memory, about a third more compute.
    gradient_checkpointing: bool = False
    # With only the last layers trained (lora.last_layers, or freeze), keep the frozen layers'
    # output per row, up to this many MiB, and skip those layers when a row comes again in a
    # later epoch: same loss and gradients, fewer layers run (0: off).
    frozen_cache_mb: int = Field(2048, ge=0)

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
    # The input embeddings and output head at their own learning rate (null: the same as the
    # rest). With LoRA they are frozen unless this or `embedding_tokens` is set.
    embedding_learning_rate: float | None = Field(None, ge=0)
    # Train only these tokens' rows of the embeddings and head (new names, jargon); every
    # other row stays byte-identical. Empty: all rows.
    embedding_tokens: list[str] = []


class SFTConfig(TrainStage):
    # lora | qlora (4-bit base, CUDA only) | full | freeze (last layers and head only)
    method: Literal["lora", "qlora", "full", "freeze"] = "lora"
    lora: LoraSettings = LoraSettings()
    train_last_layers: int = Field(2, ge=1)
    learning_rate: float = Field(2e-3, gt=0)
    assistant_only_loss: bool = True
    # Pack whole examples into rows of seq_len (best-fit decreasing); position ids restart per
    # example so none attends to another. Off: one example per row, padded per batch.
    packing: bool = True
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


class RewardModelConfig(TrainStage):
    # Off by default: a reward model (sequence-classification head on the SFT model) trained
    # on the preference pairs (data/pref/train.jsonl, from the synth stage).
    enabled: bool = False
    learning_rate: float = Field(1e-4, gt=0)
    seq_len: int = Field(512, ge=8)
    # Share of the pairs (grouped by question) held out to measure accuracy: chosen scored above rejected.
    heldout_fraction: float = Field(0.2, ge=0, lt=1)
    lora: LoraSettings = LoraSettings()


class RLConfig(TrainStage):
    # Off by default: GRPO on the SFT policy, rewarded by the reward model and person-likeness.
    enabled: bool = False
    learning_rate: float = Field(2e-5, gt=0)
    # Completions per prompt; batch_size * grad_accum (completions per generation round) must divide by it.
    num_generations: int = Field(4, ge=2)
    max_completion_length: int = Field(128, ge=1)
    temperature: float = Field(1.0, gt=0)
    # KL penalty to the SFT policy (the fresh RL adapter switched off).
    beta: float = Field(0.04, ge=0)
    # reward = reward_model_weight * reward model score + likeness_weight * P(the person wrote it)
    reward_model_weight: float = Field(1.0, ge=0)
    likeness_weight: float = Field(1.0, ge=0)
    # Answers sampled from the SFT and from the RL policy after training (same prompts and seeds) to
    # measure the reward gain (0: skip).
    measure_answers: int = Field(16, ge=0)
    lora: LoraSettings = LoraSettings()

    @model_validator(mode="after")
    def _groups_fit(self):
        per_round = self.batch_size * self.grad_accum
        if per_round % self.num_generations:
            raise ValueError(f"batch_size * grad_accum ({per_round}) must be a multiple of num_generations "
                             f"({self.num_generations}): each generation round holds whole groups of completions")
        if self.reward_model_weight == 0 and self.likeness_weight == 0:
            raise ValueError("reward_model_weight and likeness_weight are both 0: nothing to reward")
        return self


class TrainConfig(Strict):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool | Literal["auto"] = "auto"
    # An `accelerate config` file (FSDP, DeepSpeed, several GPUs) used by
    # `doppel train --num-processes N` on GPUs; relative paths are read from the config's folder.
    accelerate_config: Path | None = None
    pretrain: PretrainConfig = PretrainConfig()
    cpt: CPTConfig = CPTConfig()
    sft: SFTConfig = SFTConfig()
    pref: PreferenceConfig = PreferenceConfig()
    reward: RewardModelConfig = RewardModelConfig()
    rl: RLConfig = RLConfig()
