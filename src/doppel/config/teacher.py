"""The teacher LLM endpoint, synthetic data and cost estimates."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from doppel.config.base import Strict


class ModelPrice(Strict):
    """US dollars per million tokens."""
    input: float = Field(0.0, ge=0)
    output: float = Field(0.0, ge=0)


class TeacherConfig(Strict):
    # Any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp server, Ollama). Left
    # empty, the OPENAI_BASE_URL environment variable is used; with neither, the teacher
    # steps are skipped. The key falls back to OPENAI_API_KEY and is never written out.
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    concurrency: int = Field(8, ge=1, le=512)
    retries: int = Field(6, ge=0)
    timeout: float = Field(60.0, gt=0)
    backoff: float = Field(0.5, ge=0)  # seconds before the first retry; doubles each time
    prices: dict[str, ModelPrice] = {
        "gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
        "gpt-4o": ModelPrice(input=2.50, output=10.0),
        "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
        "gpt-4.1": ModelPrice(input=2.00, output=8.00),
    }


class CatchphraseGuard(Strict):
    # An n-gram is over-used when its rate in generated answers is `max_ratio` times its
    # rate in the person's real text (and it appears at least `min_count` times).
    max_ratio: float = Field(4.0, gt=1)
    min_count: int = Field(5, ge=1)
    max_n: int = Field(3, ge=1, le=6)
    # An answer is over the limit when over-used n-grams occur more often than this per 100 words.
    max_per_100_words: float = Field(1.0, ge=0)
    action: Literal["rewrite", "downweight", "drop"] = "drop"
    downweight: float = Field(0.3, gt=0, le=1)


class SynthConfig(Strict):
    enabled: bool = True
    categories: list[str] = ["controversial", "about their field", "funny", "absurd"]
    questions_per_category: int = Field(5, ge=0)
    # Questions grounded in the corpus: this many per passage, over at most max_passages.
    questions_per_passage: int = Field(1, ge=0)
    max_passages: int = Field(40, ge=0)
    answers: list[Literal["backtranslate", "grounded", "plain"]] = ["backtranslate", "grounded"]
    retrieve_k: int = Field(3, ge=1)
    # Questions whose word-trigram overlap with a kept one is above this are near-duplicates.
    dedup_threshold: float = Field(0.75, gt=0, le=1)
    score: bool = True
    min_score: int = Field(3, ge=1, le=5)  # on each rubric dimension
    guard: CatchphraseGuard = CatchphraseGuard()
    identity: bool = True
    # Each identity and protective example this many times in SFT (the copies without a system
    # message): a few dozen of them among hundreds of dialogues are otherwise barely learnt.
    identity_copies: int = Field(1, ge=1, le=20)
    # What the person cannot know: events after this year (e.g. their death) and private matters.
    knowledge_cutoff: str | None = None
    preferences: bool = True
    temperature: float = Field(0.8, ge=0, le=2)
    max_tokens: int = Field(400, ge=16)


class EstimateConfig(Strict):
    # Model size for GPU estimates, e.g. "0.5B", "7B"; empty: read from model.base or preset.
    params: str | None = None
    method: Literal["full", "lora", "qlora"] | None = None  # empty: train.sft.method
    gpu: str = "H100"
    gpu_tflops: float = Field(989.0, gt=0)  # dense bf16 peak
    gpu_memory_gb: float = Field(80.0, gt=0)
    mfu: float = Field(0.35, gt=0, le=1)
    gpu_hour_price: float = Field(2.5, ge=0)
    # Hosted fine-tuning, US dollars per million training tokens.
    hosted_price_per_mtok: float = Field(3.0, ge=0)
    # Tokens a synth request/answer costs, for the teacher cost estimate.
    prompt_tokens_per_request: int = Field(600, ge=1)
    completion_tokens_per_request: int = Field(250, ge=1)
