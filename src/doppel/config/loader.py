"""The whole config, loading from YAML, --set overrides, error messages and redaction.

Every user mistake becomes a `UserError` whose message names the file, the key and the fix.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from doppel.config.base import Strict
from doppel.config.evaluate import EvalConfig
from doppel.config.export import ExportConfig, ServeConfig
from doppel.config.model import DataConfig, ModelConfig
from doppel.config.sources import IngestConfig, PersonaConfig, SourceConfig
from doppel.config.teacher import EstimateConfig, SynthConfig, TeacherConfig
from doppel.config.train import TrainConfig
from doppel.errors import UserError


class Config(Strict):
    name: str = Field(description="The run's name; it names the run folder (runs/NAME/).")
    run_dir: Path | None = Field(None, description="Where the run folder goes; empty: runs/NAME next to this "
                                 "config file.")
    seed: int = Field(0, description="Seed of every random choice (splits, sampling, training), so a run can "
                      "be repeated.")
    persona: PersonaConfig = Field(description="The person whose voice the model learns.")
    sources: list[SourceConfig] = Field(min_length=1, description="The person's own words: files, folders or "
                                        "URLs (at least one).")
    background: list[SourceConfig] = Field([], description="Text in other voices, used to pretrain the base "
                                           "model from scratch when model.base is empty; entries take the "
                                           "same keys as sources.")
    ingest: IngestConfig = Field(IngestConfig(), description="Reading, cleaning and deduplicating the sources.")
    model: ModelConfig = Field(ModelConfig(), description="The base model, or the preset to pretrain.")
    data: DataConfig = Field(DataConfig(), description="How the datasets are built from the corpus.")
    train: TrainConfig = Field(TrainConfig(), description="The training stages, each with its own settings.")
    eval: EvalConfig = Field(EvalConfig(), description="The evaluation ladder over every trained model.")
    export: ExportConfig = Field(ExportConfig(), description="GGUF files, the parity gate, the Modelfile and "
                                 "the model card.")
    serve: ServeConfig = Field(ServeConfig(), description="`doppel serve`: the HTTP server and web chat.")
    teacher: TeacherConfig = Field(TeacherConfig(), description="The teacher LLM endpoint used by synth and "
                                   "the judge.")
    synth: SynthConfig = Field(SynthConfig(), description="Teacher-made training data.")
    estimate: EstimateConfig = Field(EstimateConfig(), description="Assumptions of `doppel estimate` (GPU, "
                                     "prices, tokens per request).")

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
    if cfg.train.accelerate_config is not None and not cfg.train.accelerate_config.is_absolute():
        cfg.train.accelerate_config = (base_dir / cfg.train.accelerate_config).resolve()
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
