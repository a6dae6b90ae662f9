"""Evaluation: generation settings, the ladder, the LLM judge."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from doppel.config.base import Strict


class GenerationSettings(Strict):
    max_new_tokens: int = Field(80, ge=1, description="The longest answer, in tokens, a model may give to one "
                                "evaluation question.")
    do_sample: bool = Field(True, description="Sample answers (true) or always take the most likely token "
                            "(false, greedy).")
    temperature: float = Field(0.7, gt=0, description="Sampling temperature: lower is more predictable, higher "
                               "more varied.")
    top_p: float = Field(0.9, gt=0, le=1, description="Nucleus sampling: draw only from the most likely tokens "
                         "that together hold this much probability.")
    repetition_penalty: float = Field(1.1, gt=0, description="Above 1 discourages repeating tokens already in "
                                      "the answer; 1 turns it off.")


class JudgeSettings(Strict):
    enabled: bool = Field(True, description="Let an LLM judge compare the models' answers; it runs only when a "
                          "teacher endpoint is configured (teacher.base_url or OPENAI_BASE_URL).")
    model: str | None = Field(None, description="The judge's model name at the teacher endpoint; empty uses "
                              "teacher.model.")
    questions: int = Field(12, ge=0, description="Held-out questions whose answers the judge compares pairwise.")
    faithfulness: bool = Field(True, description="Also have the judge rate faithfulness to the person's "
                               "retrieved passages (1-5).")


class EvalConfig(Strict):
    enabled: bool = Field(True, description="Run the evaluation ladder after training; false skips the eval "
                          "and eval_gguf stages.")
    questions: int = Field(6, ge=0, description="Held-out questions answered by every model; the answers are "
                           "saved as samples.")
    perplexity_texts: int = Field(0, ge=0, description="Perplexity over at most this many held-out text chunks "
                                  "(an evenly spread, fixed selection, the same for every rung; 0: all of them). "
                                  "On a CPU this costs as much as generation.")
    perplexity_dialogues: int = Field(0, ge=0, description="Answer perplexity over at most this many held-out "
                                      "dialogues (fixed selection like perplexity_texts; 0: all of them).")
    batch_size: int = Field(8, ge=1, description="Texts or prompts per forward pass when scoring and "
                            "generating; lower it if evaluation runs out of memory.")
    generation: GenerationSettings = Field(GenerationSettings(), description="How the models sample their "
                                           "answers to evaluation questions.")
    min_words: int = Field(5000, ge=0, description="Answers are sampled in rounds over the questions until each "
                           "model has this many words (function-word Delta needs about 5,000).")
    max_rounds: int = Field(4, ge=1, description="The most sampling rounds over the questions, whether or not "
                            "min_words is reached.")
    classifier_questions: int = Field(150, ge=4, description="Training questions answered by the base model: the "
                                      "'not the person' side of the person-likeness classifier (the person's "
                                      "real answers are the other side).")
    prompted_baseline: bool = Field(True, description="Add a prompted baseline to the ladder: the base model "
                                    "given the persona description and some of the person's passages.")
    prompt_examples: int = Field(3, ge=0, description="Passages of the person, retrieved for each question, "
                                 "that the prompted baseline sees as examples.")
    identity_probes: bool = Field(True, description="Ask every model identity questions (who are you, "
                                  "pretend to be someone else) and score whether it stays the person.")
    gguf_files: Literal["all", "chosen"] = Field("all", description="Which exported GGUF files join the ladder "
                                                 "(the eval_gguf stage): every file the export wrote, or only "
                                                 "the one the Modelfile uses (the parity gate measured them all).")
    judge: JudgeSettings = Field(JudgeSettings(), description="The LLM judge that compares answers pairwise.")
