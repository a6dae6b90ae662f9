"""Evaluation: generation settings, the ladder, the LLM judge."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from doppel.config.base import Strict


class GenerationSettings(Strict):
    max_new_tokens: int = Field(80, ge=1)
    do_sample: bool = True
    temperature: float = Field(0.7, gt=0)
    top_p: float = Field(0.9, gt=0, le=1)
    repetition_penalty: float = Field(1.1, gt=0)


class JudgeSettings(Strict):
    # The LLM judge runs when a teacher endpoint is configured (teacher.base_url or
    # OPENAI_BASE_URL); `model` overrides teacher.model for judging.
    enabled: bool = True
    model: str | None = None
    questions: int = Field(12, ge=0)  # held-out questions whose answers are judged pairwise
    faithfulness: bool = True  # also rate faithfulness to the person's retrieved passages (1-5)


class EvalConfig(Strict):
    enabled: bool = True
    # Held-out questions answered by every model; answers are saved as samples.
    questions: int = Field(6, ge=0)
    # Perplexities over at most this many held-out text chunks and dialogues (an evenly spread,
    # fixed selection, the same for every rung; 0: all of them). On a CPU they cost as much
    # as generation.
    perplexity_texts: int = Field(0, ge=0)
    perplexity_dialogues: int = Field(0, ge=0)
    batch_size: int = Field(8, ge=1)
    generation: GenerationSettings = GenerationSettings()
    # Answers are sampled in rounds over the questions until each model has `min_words`
    # words (function-word Delta needs ~5,000), at most `max_rounds` rounds.
    min_words: int = Field(5000, ge=0)
    max_rounds: int = Field(4, ge=1)
    # Training questions answered by the base model: the "not the person" side of the
    # person-likeness classifier (the person's real answers to them are the other side).
    classifier_questions: int = Field(150, ge=4)
    # The prompted baseline: the base model with the persona description and this many of
    # the person's passages, retrieved for each question, as examples.
    prompted_baseline: bool = True
    prompt_examples: int = Field(3, ge=0)
    identity_probes: bool = True
    # Which exported GGUF files join the ladder (the eval_gguf stage): every file the export
    # wrote, or only the one the Modelfile uses (the parity gate measured them all).
    gguf_files: Literal["all", "chosen"] = "all"
    judge: JudgeSettings = JudgeSettings()
