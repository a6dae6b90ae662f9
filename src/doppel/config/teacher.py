"""The teacher LLM endpoint, synthetic data and cost estimates."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from doppel.config.base import Strict


class ModelPrice(Strict):
    """US dollars per million tokens."""
    input: float = Field(0.0, ge=0, description="US dollars per million prompt tokens.")
    output: float = Field(0.0, ge=0, description="US dollars per million completion tokens.")


class TeacherConfig(Strict):
    """Any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp server, Ollama)."""
    base_url: str | None = Field(None, description="The endpoint's URL, e.g. http://localhost:8080/v1. Empty "
                                 "uses the OPENAI_BASE_URL environment variable; with neither, the teacher "
                                 "steps (synth, judge) are skipped.")
    model: str = Field("gpt-4o-mini", description="The model name asked of the endpoint.")
    local: str | None = Field(None, description="A local model to teach and judge with instead of an endpoint: "
                              "a .gguf file (e.g. one Ollama or LM Studio downloaded) or a bundled model name "
                              "(smollm2-135m-instruct). Doppel serves it with llama.cpp on a loopback port while "
                              "a stage needs it; base_url and model are then not used, and it costs nothing.")
    local_parallel: int = Field(2, ge=1, le=32, description="Replies the local model writes at once (one "
                                "llama.cpp instance each, the CPU's cores shared among them).")
    local_quant: Literal["file", "q8_0"] = Field("file", description="Serve teacher.local as the file is, or "
                                               "a q8_0 copy made once in Doppel's cache: llama.cpp reads prompts "
                                               "about 1.5x faster from q8_0 than from a 4-bit file on a CPU.")
    local_context: int = Field(4096, ge=512, description="Context length of each local llama.cpp instance, in "
                               "tokens (prompt plus answer).")
    structured_output: bool = Field(False, description="Ask the endpoint for replies held to a JSON schema "
                                    "where Doppel parses one (scores, judge verdicts), with OpenAI's "
                                    "response_format; OpenAI, vLLM and llama.cpp servers support it. Always on "
                                    "for teacher.local, whose replies llama.cpp then holds to the schema's grammar.")
    api_key: SecretStr | None = Field(None, description="The endpoint's key; better left empty so it falls "
                                      "back to the OPENAI_API_KEY environment variable. It is never written "
                                      "out.")
    concurrency: int = Field(8, ge=1, le=512, description="Requests sent to the endpoint at once.")
    retries: int = Field(6, ge=0, description="Times a failed or rate-limited request is retried before it "
                         "counts as an error.")
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for one answer.")
    backoff: float = Field(0.5, ge=0, description="Seconds before the first retry; the wait doubles each time (at "
                         "most 30 s).")
    prices: dict[str, ModelPrice] = Field({
        "gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
        "gpt-4o": ModelPrice(input=2.50, output=10.0),
        "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
        "gpt-4.1": ModelPrice(input=2.00, output=8.00),
    }, description="Price per model name, for the cost in usage reports and `doppel estimate`; add your "
       "model to get its cost.")


class CatchphraseGuard(Strict):
    """Catch-phrases the teacher over-uses in synthetic answers, compared with the person's real text."""
    max_ratio: float = Field(4.0, gt=1, description="An n-gram is over-used when its rate in generated answers "
                             "is this many times its rate in the person's real text.")
    min_count: int = Field(5, ge=1, description="An n-gram counts as over-used only when it appears at least "
                           "this many times in generated answers.")
    max_n: int = Field(3, ge=1, le=6, description="The longest n-gram, in words, that is checked.")
    max_per_100_words: float = Field(1.0, ge=0, description="An answer is over the limit when over-used "
                                     "n-grams occur more often than this per 100 of its words.")
    action: Literal["rewrite", "downweight", "drop"] = Field("drop", description="What happens to an answer "
                                                             "over the limit: the teacher rewrites it, it gets "
                                                             "a lower weight, or it is dropped.")
    downweight: float = Field(0.3, gt=0, le=1, description="With action downweight: the weight of an answer "
                              "over the limit (that share of them is kept).")


class SynthConfig(Strict):
    enabled: bool = Field(True, description="Make teacher-written training data (needs a teacher endpoint; "
                          "without one only the identity examples are written).")
    categories: list[str] = Field(["controversial", "about their field", "funny", "absurd"],
                                  description="Kinds of question the teacher invents for the person.")
    questions_per_category: int = Field(5, ge=0, description="Questions asked of the teacher for each "
                                        "category.")
    questions_per_passage: int = Field(1, ge=0, description="Questions grounded in the corpus: this many for "
                                       "each passage of the person.")
    max_passages: int = Field(40, ge=0, description="The most passages of the person that get grounded "
                              "questions.")
    answers: list[Literal["backtranslate", "grounded", "plain"]] = Field(
        ["backtranslate", "grounded"], description="How answers are made: backtranslate (the person's passage "
        "verbatim, the teacher writes the question), grounded (the teacher answers from retrieved passages), "
        "plain (the teacher answers alone).")
    retrieve_k: int = Field(3, ge=1, description="Passages retrieved for each grounded answer.")
    dedup_threshold: float = Field(0.75, gt=0, le=1, description="Questions whose word-trigram overlap with a "
                                   "kept question is above this are dropped as near-duplicates.")
    score: bool = Field(True, description="Have the teacher score each answer 1-5 on voice, faithfulness and "
                        "answering the question.")
    min_score: int = Field(3, ge=1, le=5, description="Answers scoring below this on any rubric dimension are "
                           "dropped.")
    guard: CatchphraseGuard = Field(CatchphraseGuard(), description="The catch-phrase guard against phrases "
                                    "the teacher over-uses.")
    identity: bool = Field(True, description="Add identity and protective examples made from the persona (who "
                           "are you, what you cannot know).")
    identity_copies: int = Field(1, ge=1, le=20, description="Each identity and protective example this many "
                                 "times in SFT (the copies without a system message): a few dozen among "
                                 "hundreds of dialogues are otherwise barely learnt.")
    knowledge_cutoff: str | None = Field(None, description="What the person cannot know: events after this "
                                         "year, e.g. '1994' (their death); empty, the identity examples say "
                                         "'after my time'. Private matters are declined either way.")
    preferences: bool = Field(True, description="Write preference pairs (the person's answer against a "
                              "generic assistant's) for train.pref and train.reward.")
    temperature: float = Field(0.8, ge=0, le=2, description="The teacher's sampling temperature.")
    max_tokens: int = Field(400, ge=16, description="The longest teacher answer, in tokens.")


class EstimateConfig(Strict):
    params: str | None = Field(None, description="Model size for GPU estimates, e.g. '0.5B' or '7B'; empty "
                               "reads it from model.base or model.preset.")
    method: Literal["full", "lora", "qlora"] | None = Field(None, description="Training method for the memory "
                                                            "estimate; empty uses train.sft.method.")
    gpu: str = Field("H100", description="The GPU's name, as shown in the estimate.")
    gpu_tflops: float = Field(989.0, gt=0, description="The GPU's dense bf16 peak, in TFLOPS.")
    gpu_memory_gb: float = Field(80.0, gt=0, description="The GPU's memory in GB; it decides how many GPUs "
                                 "the estimate needs.")
    mfu: float = Field(0.35, gt=0, le=1, description="The share of the peak FLOPS training is assumed to reach "
                       "(model-FLOPs utilisation).")
    gpu_hour_price: float = Field(2.5, ge=0, description="US dollars per GPU-hour.")
    hosted_price_per_mtok: float = Field(3.0, ge=0, description="Hosted fine-tuning price, in US dollars per "
                                         "million training tokens, for comparison.")
    prompt_tokens_per_request: int = Field(600, ge=1, description="Prompt tokens one synth request is assumed "
                                           "to cost, for the teacher cost estimate.")
    completion_tokens_per_request: int = Field(250, ge=1, description="Completion tokens one synth answer is "
                                               "assumed to cost, for the teacher cost estimate.")
