"""Export (GGUF, parity gate) and serving."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from doppel.config.base import Strict


GGUFType = Literal["f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0"]


class ParitySettings(Strict):
    """The quantization parity gate: every GGUF measured against the full-precision model."""
    texts: int = Field(16, ge=1, description="Held-out persona texts scored by both the GGUF and the "
                       "full-precision model.")
    max_tokens_per_text: int = Field(256, ge=8, description="Each scored text is cut to this many tokens.")
    prompts: int = Field(4, ge=0, description="Held-out questions both models answer greedily, to compare the "
                         "answers.")
    max_new_tokens: int = Field(48, ge=1, description="The longest greedy answer, in tokens, to each parity "
                                "prompt.")
    max_ppl_ratio: float = Field(1.10, ge=1.0, description="A GGUF fails the gate when its perplexity divided "
                                 "by the full-precision model's is above this.")
    max_kl: float = Field(0.10, gt=0, description="A GGUF fails when the mean KL divergence (full precision to "
                          "GGUF) of next-token distributions is above this.")
    min_top1: float = Field(0.90, ge=0, le=1, description="A GGUF fails when the share of positions where both "
                            "models pick the same top token is below this.")
    min_likeness_ratio: float | None = Field(0.80, ge=0, description="A GGUF fails when its answers' "
                                             "person-likeness divided by the full-precision answers' is below "
                                             "this; null turns the check off.")


class ExportConfig(Strict):
    enabled: bool = Field(True, description="Export the newest trained model (merged folder, GGUF files, "
                          "Modelfile, model card); false skips the export and eval_gguf stages.")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field("auto", description="Weight type of the "
                                                                     "merged Hugging Face folder; auto keeps "
                                                                     "the model's own.")
    gguf: list[GGUFType] = Field(["f16", "q8_0", "q4_k_m"], description="GGUF files to write: f32/f16/bf16 "
                                 "directly, the quantizations through llama.cpp. An empty list writes none "
                                 "(then llama-cpp-python is not needed).")
    pick: bool = Field(False, description="Point the Modelfile at the smallest GGUF that passes the parity "
                       "gate (false: the first type in gguf that passes).")
    lora_gguf: bool = Field(False, description="Also write the LoRA adapter(s) alone as a GGUF adapter next to "
                            "an f16 GGUF of their base model (llama.cpp: -m base --lora adapter; Ollama: FROM "
                            "base + ADAPTER adapter); checked by the parity gate.")
    parity: ParitySettings = Field(ParitySettings(), description="The quantization parity gate: every GGUF "
                                   "measured against the full-precision model.")

    @field_validator("gguf")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))


class ServeConfig(Strict):
    host: str = Field("127.0.0.1", description="Address `doppel serve` listens on: 127.0.0.1 for this machine "
                      "only, 0.0.0.0 for every interface.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the HTTP server and web chat.")
    backend: Literal["auto", "hf", "gguf"] = Field("auto", description="hf: transformers; gguf: llama.cpp; "
                                                   "auto: the GGUF when the export wrote one, else "
                                                   "transformers.")
    gguf: str | None = Field(None, description="The GGUF file in export/ to serve; empty: the picked or first "
                             "one that passed the parity gate.")
    max_tokens: int = Field(512, ge=1, description="The most tokens a request may ask for; larger requests are "
                            "refused with HTTP 400.")
    max_queue: int = Field(8, ge=0, description="Requests that may wait behind the running one; more are "
                           "answered with HTTP 429.")
    queue_timeout: float = Field(60.0, gt=0, description="Seconds a request may wait in the queue before it is "
                                 "answered with HTTP 429.")
    grounded: bool = Field(False, description="Grounded mode: put the person's passages most relevant to each "
                           "question into the system prompt.")
    grounded_passages: int = Field(3, ge=1, le=20, description="Passages retrieved for each question in "
                                   "grounded mode.")
    ab_url: str = Field("http://127.0.0.1:8765/", description="Where the web chat page links to the human A/B "
                        "test page (served by `doppel eval human`).")
