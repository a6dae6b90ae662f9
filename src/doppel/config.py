"""The YAML config as pydantic models (unknown keys are errors), loading, overrides, redaction.

Every user mistake becomes a `UserError` whose message names the file, the key and the fix.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator, model_validator

from doppel.errors import UserError


@functools.lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """A speaker label for matching: accents, case and punctuation ignored; initials joined.

    'Dr. José Ruiz' -> 'dr jose ruiz'; 'J.R.', 'J. R.' and 'JR' -> 'jr'; '>> JANE:' -> 'jane'.
    """
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    words = re.sub(r"[\W_]+", " ", plain.casefold()).split()
    if len(words) > 1 and all(len(w) == 1 for w in words):
        return "".join(words)
    return " ".join(words)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PersonaConfig(Strict):
    name: str = Field(min_length=1)
    aliases: list[str] = []
    description: str = ""
    # Signature phrases of the person; evaluation counts how often samples use them.
    catchphrases: list[str] = []
    # The system prompt used in training examples and at chat time; built from the
    # name and description when left empty so the two always agree.
    system_prompt: str | None = None

    def matches(self, speaker: str) -> bool:
        """True when a transcript's speaker label is this person (case and punctuation ignored)."""
        return normalize_name(speaker) in {normalize_name(n) for n in [self.name, *self.aliases]}

    def prompt(self) -> str:
        if self.system_prompt:
            return self.system_prompt
        text = f"You are {self.name}."
        if self.description:
            text += " " + self.description.strip()
        return text


SourceKind = Literal["auto", "text", "markdown", "transcript", "html", "pdf", "srt", "vtt", "sbv", "ttml",
                     "json", "youtube"]


class SourceConfig(Strict):
    # A file or folder (read recursively), or a web page / YouTube URL: exactly one of the two.
    path: Path | None = None
    url: str | None = None
    kind: SourceKind = "auto"  # auto: chosen by content and extension
    # The speaker of turns that carry no label (a solo vlog's captions), and label renames
    # such as {"SPEAKER_00": "Jane", "A": "Jane"}.
    speaker: str | None = None
    speakers: dict[str, str] = {}
    # Crawl limits for a url source (default: ingest.crawl).
    depth: int | None = Field(None, ge=0)
    max_pages: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_location(self) -> "SourceConfig":
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path:' (a file or folder) or 'url:' (a web page)")
        if self.url is not None and not re.match(r"https?://[^/\s]+", self.url):
            raise ValueError(f"url '{self.url}' must start with http:// or https:// and name a host")
        return self


class CleanSettings(Strict):
    # Speech clean-up applied to transcript turns (essays keep their words).
    fillers: bool = False  # off by default: a person's "um"s can be part of their voice
    filler_words: list[str] = ["um", "umm", "uh", "uhh", "uhm", "erm", "er", "hmm", "mm"]
    # Removed only where set off by commas ("it was, you know, hard").
    comma_fillers: list[str] = ["you know", "I mean"]
    annotations: bool = True  # [crosstalk], [laughter], (laughs), ♪ music ♪
    timestamps: bool = True  # (00:12:03), [01:02] inside the text
    links: bool = True  # URLs and markdown links (their text is kept)
    stutters: bool = True  # "I I I think" → "I think", "th- the" → "the"


class DedupSettings(Strict):
    exact: bool = True
    near: bool = True
    # A document is a near-duplicate when this share of its word shingles appears in a
    # longer kept document (the same episode re-uploaded, a clip of a longer one).
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    shingle_words: int = Field(5, ge=1, le=20)
    num_perm: int = Field(128, ge=16, le=1024)


class CrawlSettings(Strict):
    depth: int = Field(1, ge=0)  # 0: the page itself; 1: plus the pages it links to; ...
    max_pages: int = Field(100, ge=1)
    same_site: bool = True
    delay: float = Field(1.0, ge=0.0)  # seconds between two requests to one host
    timeout: float = Field(30.0, gt=0.0)
    max_bytes: int = Field(20_000_000, ge=1024)
    respect_robots: bool = True
    user_agent: str = "Doppel/0.1 (personal corpus ingest; polite crawler)"
    languages: list[str] = ["en"]  # YouTube subtitle languages asked of yt-dlp


class IngestConfig(Strict):
    clean: CleanSettings = CleanSettings()
    dedup: DedupSettings = DedupSettings()
    # ISO 639-1 codes to keep (e.g. [en, de]); empty keeps every language.
    languages: list[str] = []
    min_words: int = Field(10, ge=0)
    strict: bool = False  # any rejected file fails the stage
    workers: int = Field(0, ge=0)  # processes that parse files; 0: one per CPU core
    crawl: CrawlSettings = CrawlSettings()


class TokenizerSettings(Strict):
    vocab_size: int = Field(4096, ge=300, le=262144)
    min_frequency: int = Field(2, ge=1)


class ModelConfig(Strict):
    # A hub name or local path of a pretrained causal LM. Left empty, Doppel trains a
    # tokenizer and pretrains a model of `preset` size on the background sources.
    base: str | None = None
    preset: Literal["tiny", "small", "medium"] = "small"
    tokenizer: TokenizerSettings = TokenizerSettings()
    # auto: keep the tokenizer's template if it marks assistant turns for the loss, else ChatML.
    chat_template: Literal["auto", "chatml", "llama3", "mistral"] = "auto"


class DataConfig(Strict):
    chunk_tokens: int = Field(256, ge=16)
    heldout_fraction: float = Field(0.15, gt=0.0, lt=0.9)
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


class LoraSettings(Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


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


class SFTConfig(TrainStage):
    # lora | qlora (4-bit base, CUDA only) | full | freeze (last layers and head only)
    method: Literal["lora", "qlora", "full", "freeze"] = "lora"
    lora: LoraSettings = LoraSettings()
    train_last_layers: int = Field(2, ge=1)
    learning_rate: float = Field(2e-3, gt=0)
    assistant_only_loss: bool = True
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


class TrainConfig(Strict):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool | Literal["auto"] = "auto"
    pretrain: PretrainConfig = PretrainConfig()
    cpt: CPTConfig = CPTConfig()
    sft: SFTConfig = SFTConfig()
    pref: PreferenceConfig = PreferenceConfig()


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
    judge: JudgeSettings = JudgeSettings()


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


class Config(Strict):
    name: str
    run_dir: Path | None = None
    seed: int = 0
    persona: PersonaConfig
    sources: list[SourceConfig] = Field(min_length=1)
    # Text in other voices, used to pretrain the base model from scratch.
    background: list[SourceConfig] = []
    ingest: IngestConfig = IngestConfig()
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    export: ExportConfig = ExportConfig()
    serve: ServeConfig = ServeConfig()
    teacher: TeacherConfig = TeacherConfig()
    synth: SynthConfig = SynthConfig()
    estimate: EstimateConfig = EstimateConfig()

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v):
            raise ValueError("use letters, digits, '.', '_' and '-' only (it names the run folder)")
        return v


SECRET_KEY = re.compile(r"(api_?key|token|secret|password)$", re.IGNORECASE)
REDACTED = "***redacted***"


def redact(value: Any) -> Any:
    """A copy of a config dict with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if SECRET_KEY.search(str(k)) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def apply_override(raw: dict, assignment: str) -> None:
    """Apply one `--set a.b.c=value` (value parsed as YAML) to the raw config dict."""
    if "=" not in assignment:
        raise UserError(f"--set '{assignment}' is not KEY=VALUE; write e.g. --set train.sft.learning_rate=1e-4")
    key, _, text = assignment.partition("=")
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise UserError(f"--set '{assignment}' has an empty key; write e.g. --set seed=1")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise UserError(f"--set '{assignment}': '{where}' is not a section, so it has no key '{parts[i + 1]}'")
        node = child
    node[parts[-1]] = value


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class found by following a validation error location."""
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) else None
        if field is None:
            return None
        model = _unwrap_model(field.annotation)
        if model is None:
            return None
    return model


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"{source} is not a valid Doppel config:"]
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        if e["type"] == "extra_forbidden":
            parent, key = loc[:-1], loc[-1]
            model = _model_at(parent)
            where = f" in {_format_loc(parent)}" if parent else " at the top level"
            hint = ""
            if model is not None:
                close = difflib.get_close_matches(str(key), list(model.model_fields), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else (
                    f"; allowed keys are: {', '.join(model.model_fields)}")
            lines.append(f"  - unknown key '{key}'{where}{hint}")
        elif e["type"] == "missing":
            lines.append(f"  - missing required key '{_format_loc(loc)}': add it to the config")
        else:
            got = e.get("input")
            shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
            lines.append(f"  - {_format_loc(loc)}: {e['msg']}{shown}")
    return "\n".join(lines)


def parse_config(raw: Any, source: str, base_dir: Path) -> Config:
    """Validate a raw dict and resolve relative paths against `base_dir`."""
    if not isinstance(raw, dict):
        raise UserError(f"{source} must hold a YAML mapping of keys (name:, persona:, sources:, ...); "
                        f"run 'doppel init NAME' for a starter config")
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as err:
        raise UserError(describe_validation_error(err, source)) from None
    for i, src in enumerate([*cfg.sources, *cfg.background]):
        if src.path is not None and not src.path.is_absolute():
            src.path = (base_dir / src.path).resolve()
    cfg.run_dir = (base_dir / (cfg.run_dir or Path("runs") / cfg.name)).resolve()
    return cfg


def load_config(path: Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML config file (or a run folder's config.resolved.yaml) and apply overrides."""
    path = Path(path)
    run_folder = path.resolve() if path.is_dir() else None
    if run_folder is not None:
        resolved = path / "config.resolved.yaml"
        if not resolved.exists():
            raise UserError(f"{path} is a folder without config.resolved.yaml; pass a config file "
                            f"or a run folder that 'doppel run' has written")
        path = resolved
    if not path.exists():
        raise UserError(f"config file {path} does not exist; create one with 'doppel init NAME'")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; save the config as UTF-8") from None
    except OSError as err:
        raise UserError(f"cannot read config file {path}: {err.strerror or err}; check its "
                        f"permissions") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise UserError(f"{path} is not valid YAML{where}: {problem}. Check the indentation "
                        f"and quoting there") from None
    raw = raw if raw is not None else {}
    for assignment in overrides or []:
        if not isinstance(raw, dict):
            break
        apply_override(raw, assignment)
    cfg = parse_config(raw, str(path), path.parent.resolve())
    if run_folder is not None:
        # The folder may have moved since it was written: it is the run directory.
        cfg.run_dir = run_folder
    return cfg


def check_paths(cfg: Config) -> None:
    """Every source path must exist: fail before any work starts."""
    for key, sources in (("sources", cfg.sources), ("background", cfg.background)):
        for i, src in enumerate(sources):
            if src.path is not None and not src.path.exists():
                raise UserError(f"{key}[{i}].path: {src.path} does not exist; fix the path "
                                f"(relative paths are read from the config file's folder)")


def dump_resolved(cfg: Config) -> str:
    """The config with defaults filled in and secrets removed, as YAML."""
    data = redact(cfg.model_dump(mode="json"))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
