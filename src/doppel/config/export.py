"""Export (GGUF, parity gate) and serving."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from doppel.config.base import Strict


GGUFType = Literal["f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0"]


class ParitySettings(Strict):
    """The quantization parity gate: every GGUF measured against the full-precision model."""
    texts: int = Field(16, ge=1)  # held-out persona texts scored
    max_tokens_per_text: int = Field(256, ge=8)
    prompts: int = Field(4, ge=0)  # held-out questions answered greedily by both
    max_new_tokens: int = Field(48, ge=1)
    max_ppl_ratio: float = Field(1.10, ge=1.0)  # GGUF perplexity / HF perplexity
    max_kl: float = Field(0.10, gt=0)  # mean KL(HF || GGUF) of next-token distributions
    min_top1: float = Field(0.90, ge=0, le=1)  # share of positions with the same top token
    # GGUF answers' person-likeness / HF answers'; null turns the check off.
    min_likeness_ratio: float | None = Field(0.80, ge=0)


class ExportConfig(Strict):
    enabled: bool = True
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    # GGUF files to write: f32/f16/bf16 directly, the quantizations through llama.cpp.
    # Empty writes none (then llama-cpp-python is not needed).
    gguf: list[GGUFType] = ["f16", "q8_0", "q4_k_m"]
    pick: bool = False  # choose the smallest GGUF that passes the parity gate for the Modelfile
    # Also write the LoRA adapter(s) alone as a GGUF adapter, next to an f16 GGUF of their base model
    # (llama.cpp: -m base --lora adapter; Ollama: FROM base + ADAPTER adapter); checked by the parity gate.
    lora_gguf: bool = False
    parity: ParitySettings = ParitySettings()

    @field_validator("gguf")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))


class ServeConfig(Strict):
    host: str = "127.0.0.1"  # only this machine; 0.0.0.0 to listen on every interface
    port: int = Field(8000, ge=1, le=65535)
    # auto: the GGUF through llama.cpp when the export wrote one, else transformers.
    backend: Literal["auto", "hf", "gguf"] = "auto"
    gguf: str | None = None  # a file in export/ (default: the picked or first passing one)
    max_tokens: int = Field(512, ge=1)  # the most a request may ask for
    max_queue: int = Field(8, ge=0)  # requests waiting behind the running one; more get 429
    queue_timeout: float = Field(60.0, gt=0)  # seconds a request may wait before a 429
    # Grounded mode: the person's passages most relevant to the question go into the system prompt.
    grounded: bool = False
    grounded_passages: int = Field(3, ge=1, le=20)
    # Where the web chat page links for the human A/B test page (served by the eval tools).
    ab_url: str = "http://127.0.0.1:8765/"
