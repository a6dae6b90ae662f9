"""The training stages: pretraining, continued pretraining, SFT, preference tuning, reward model, RL."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from doppel.config.base import Strict


class LoraSettings(Strict):
    r: int = Field(16, ge=1, description="LoRA rank: larger adapters learn more and cost more.")
    alpha: int = Field(32, ge=1, description="LoRA scaling: the adapter's update is multiplied by alpha / r.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout on the adapter's input during training.")
    target_modules: list[str] | Literal["all-linear"] = Field("all-linear", description="Names of the layers "
                                                              "that get adapters, e.g. [q_proj, v_proj]; "
                                                              "all-linear adapts every linear layer but the "
                                                              "output head.")
    last_layers: int | None = Field(None, ge=1, description="Adapt only the last N decoder layers (empty: "
                                    "all). Backpropagation then stops at the lowest adapted layer, so a step "
                                    "costs far less on a CPU; the voice lives mostly there.")


class TrainStage(Strict):
    enabled: bool = Field(True, description="Run this training stage; false skips it and the next stage "
                          "builds on the newest enabled earlier one.")
    epochs: float = Field(1.0, gt=0, description="Passes over the stage's training data (fractions allowed).")
    max_steps: int = Field(-1, description="Stop after this many optimizer steps; -1 lets epochs decide.")
    learning_rate: float = Field(1e-3, gt=0, description="Peak learning rate, reached after warmup, then "
                                 "decayed on a cosine schedule.")
    batch_size: int = Field(8, ge=1, description="Rows per device per forward pass.")
    grad_accum: int = Field(1, ge=1, description="Forward passes whose gradients add up to one optimizer step "
                            "(the effective batch is batch_size * grad_accum * processes).")
    seq_len: int = Field(256, ge=8, description="Tokens per training row; longer text and examples are cut.")
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="Share of the steps over which the learning rate "
                                "rises from 0 to learning_rate.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    save_steps: int = Field(50, ge=1, description="Write a checkpoint every this many optimizer steps (what "
                            "--resume continues from).")
    save_total_limit: int = Field(2, ge=1, description="Checkpoints kept; older ones are deleted.")
    logging_steps: int = Field(10, ge=1, description="Log the training loss every this many optimizer steps.")
    eval_steps: int = Field(0, ge=0, description="Measure held-out loss every this many steps; 0 turns it off.")
    early_stopping_patience: int = Field(0, ge=0, description="Stop after this many held-out evaluations "
                                         "without improvement and keep the best checkpoint; 0 never stops "
                                         "early (needs eval_steps > 0).")
    gradient_checkpointing: bool = Field(False, description="Recompute activations in the backward pass: less "
                                         "memory, about a third more compute.")
    frozen_cache_mb: int = Field(2048, ge=0, description="With only the last layers trained (lora.last_layers "
                                 "or method freeze), keep the frozen layers' output per row, up to this many "
                                 "MiB, and skip those layers when a row comes again in a later epoch: same loss "
                                 "and gradients, fewer layers run (0: off).")

    @model_validator(mode="after")
    def _early_stopping_needs_eval(self):
        if self.early_stopping_patience and not self.eval_steps:
            raise ValueError("early_stopping_patience needs eval_steps > 0 (how often to measure held-out loss)")
        return self


class PretrainConfig(TrainStage):
    pass


LORA = "The LoRA adapter's settings (with method lora or qlora)."
LAST_LAYERS = "With method freeze: how many of the last decoder layers are trained, with the final norm and head."


class CPTConfig(TrainStage):
    method: Literal["full", "lora", "qlora", "freeze"] = Field("full", description="full: every weight; lora: "
                                                               "an adapter; qlora: an adapter on a 4-bit base "
                                                               "(CUDA only); freeze: only the last "
                                                               "train_last_layers layers, the final norm and "
                                                               "the head.")
    lora: LoraSettings = Field(LoraSettings(), description=LORA)
    train_last_layers: int = Field(2, ge=1, description=LAST_LAYERS)
    learning_rate: float = Field(5e-4, gt=0, description="Peak learning rate of continued pretraining.")
    embedding_learning_rate: float | None = Field(None, ge=0, description="Train the input embeddings and "
                                                  "output head at their own learning rate (empty: the same as "
                                                  "the rest). With LoRA they are frozen unless this or "
                                                  "embedding_tokens is set.")
    embedding_tokens: list[str] = Field([], description="Train only these tokens' rows of the embeddings and "
                                        "head (new names, jargon); every other row stays byte-identical. "
                                        "Empty: all rows.")


class SFTConfig(TrainStage):
    method: Literal["lora", "qlora", "full", "freeze"] = Field("lora", description="lora: an adapter; qlora: "
                                                               "an adapter on a 4-bit base (CUDA only); full: "
                                                               "every weight; freeze: only the last layers "
                                                               "and the head.")
    lora: LoraSettings = Field(LoraSettings(), description=LORA)
    train_last_layers: int = Field(2, ge=1, description=LAST_LAYERS)
    learning_rate: float = Field(2e-3, gt=0, description="Peak learning rate of supervised fine-tuning.")
    assistant_only_loss: bool = Field(True, description="Learn only from the person's answers, not from the "
                                      "questions and system prompt.")
    packing: bool = Field(True, description="Pack whole examples into rows of seq_len (best-fit decreasing); "
                          "position ids restart per example so none attends to another. Off: one example per "
                          "row, padded per batch.")
    train_new_tokens: bool = Field(True, description="Train the embedding rows of chat-template tokens that "
                                   "start untrained (LoRA/QLoRA).")


class PreferenceConfig(TrainStage):
    enabled: bool = Field(False, description="Tune the SFT model on preference pairs; off by default because "
                          "it needs data/pref/train.jsonl from the synth stage (a teacher endpoint).")
    method: Literal["dpo", "cpo", "simpo", "orpo", "kto"] = Field("dpo", description="The preference "
                                                                  "objective (TRL).")
    beta: float = Field(0.1, gt=0, description="Strength of the preference loss: higher keeps the model closer "
                        "to the SFT model (DPO) or sharpens the margin.")
    simpo_gamma: float = Field(0.5, ge=0, description="With method simpo: the target reward margin between "
                               "chosen and rejected answers.")
    learning_rate: float = Field(5e-5, gt=0, description="Peak learning rate of preference tuning.")
    lora: LoraSettings = Field(LoraSettings(), description="The preference adapter's LoRA settings.")


class RewardModelConfig(TrainStage):
    enabled: bool = Field(False, description="Train a reward model (a sequence-classification head on the SFT "
                          "model) on the preference pairs; off by default because it needs "
                          "data/pref/train.jsonl from the synth stage.")
    learning_rate: float = Field(1e-4, gt=0, description="Peak learning rate of the reward model.")
    seq_len: int = Field(512, ge=8, description="The longest question plus answer, in tokens, that the reward "
                         "model scores.")
    heldout_fraction: float = Field(0.2, ge=0, lt=1, description="Share of the pairs (grouped by question) "
                                    "held out to measure accuracy: chosen scored above rejected.")
    lora: LoraSettings = Field(LoraSettings(), description="The reward model's LoRA settings.")


class RLConfig(TrainStage):
    enabled: bool = Field(False, description="GRPO on the SFT policy, rewarded by the reward model and "
                          "person-likeness; off by default (with reward_model_weight > 0 it needs "
                          "train.reward.enabled).")
    learning_rate: float = Field(2e-5, gt=0, description="Peak learning rate of the RL policy.")
    num_generations: int = Field(4, ge=2, description="Completions per prompt; batch_size * grad_accum "
                                 "(completions per generation round) must divide by it.")
    max_completion_length: int = Field(128, ge=1, description="The longest sampled completion, in tokens.")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature of the completions.")
    beta: float = Field(0.04, ge=0, description="KL penalty to the SFT policy (the fresh RL adapter switched "
                        "off); 0 turns it off.")
    reward_model_weight: float = Field(1.0, ge=0, description="reward = reward_model_weight * reward model "
                                       "score + likeness_weight * P(the person wrote it).")
    likeness_weight: float = Field(1.0, ge=0, description="Weight of person-likeness in the reward (see "
                                   "reward_model_weight).")
    measure_answers: int = Field(16, ge=0, description="Answers sampled from the SFT and from the RL policy "
                                 "after training (same prompts and seeds) to measure the reward gain; 0 skips "
                                 "it.")
    lora: LoraSettings = Field(LoraSettings(), description="The RL adapter's LoRA settings.")

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
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where training runs; auto picks CUDA "
                                                   "when a GPU is available, else the CPU.")
    bf16: bool | Literal["auto"] = Field("auto", description="bf16 autocast; auto uses it where the hardware "
                                         "supports it.")
    accelerate_config: Path | None = Field(None, description="An `accelerate config` file (FSDP, DeepSpeed, "
                                           "several GPUs) used by `doppel train --num-processes N` on GPUs; a "
                                           "relative path is read from the config's folder.")
    pretrain: PretrainConfig = Field(PretrainConfig(), description="Pretraining a model from scratch on the "
                                     "background sources; runs only when model.base is empty.")
    cpt: CPTConfig = Field(CPTConfig(), description="Continued pretraining on the person's own text.")
    sft: SFTConfig = Field(SFTConfig(), description="Supervised fine-tuning on the person's question/answer "
                           "dialogues (and synth examples).")
    pref: PreferenceConfig = Field(PreferenceConfig(), description="Preference tuning (DPO and friends) on top "
                                   "of the SFT model.")
    reward: RewardModelConfig = Field(RewardModelConfig(), description="A reward model trained on the "
                                      "preference pairs, for RL.")
    rl: RLConfig = Field(RLConfig(), description="Reinforcement learning (GRPO) of the SFT policy.")
