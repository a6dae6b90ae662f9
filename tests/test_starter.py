"""`doppel init`: every setting is described in the schema; the short and the full starter both load."""

import typing

import yaml
from pydantic import BaseModel

from doppel.config import Config, CPTConfig, TrainConfig, load_config
from doppel.config.loader import SECRET_KEY
from doppel.starter import write_starter
from tests.conftest import doppel


def submodels(annotation) -> list[type[BaseModel]]:
    """The config models a field holds: itself, or inside list[...], dict[..., ...] and unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in submodels(arg)]


def every_field(model: type[BaseModel], prefix: str = ""):
    for key, field in model.model_fields.items():
        yield prefix + key, field
        for sub in submodels(field.annotation):
            yield from every_field(sub, f"{prefix}{key}.")


def test_every_setting_has_a_description():
    fields = dict(every_field(Config))
    assert len(fields) > 250  # the walk reached the nested sections
    undescribed = [path for path, f in fields.items() if len((f.description or "").split()) < 3]
    assert not undescribed, f"settings without a description: {undescribed}"


def comments(text: str) -> str:
    """All comment text of a YAML file, whitespace collapsed (descriptions wrap across lines)."""
    found = [line.split("#", 1)[1].strip() for line in text.splitlines() if line.lstrip().startswith("#")]
    return " ".join(" ".join(found).split())


def assert_names_every_key(model: type[BaseModel], node: dict, where: str = "") -> int:
    """Every field of `model` is a key of `node`, recursively; returns how many were checked."""
    missing = [key for key in model.model_fields if key not in node]
    assert not missing, f"{where or 'top level'} lacks {missing}"
    checked = len(model.model_fields)
    for key, field in model.model_fields.items():
        subs, value = submodels(field.annotation), node[key]
        if not subs or value in (None, [], {}):
            continue
        items = value if isinstance(value, list) else value.values() if typing.get_origin(
            field.annotation) is dict else [value]
        for item in items:
            checked += assert_names_every_key(subs[0], item, f"{where}{key}.")
    return checked


def test_full_config_loads_names_every_key_with_defaults_and_descriptions(tmp_path):
    proc = doppel("init", "jane", "--dir", tmp_path, "--full")
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "jane.yaml"
    cfg = load_config(path)
    assert cfg.name == "jane" and cfg.persona.name == "Jane Doe" and cfg.sources[0].path.name == "persona"
    # Every value but the examples is the default.
    for section in ("ingest", "model", "data", "train", "eval", "export", "serve", "teacher", "synth", "estimate"):
        assert getattr(cfg, section) == type(getattr(cfg, section))(), section

    text = path.read_text()
    raw = yaml.safe_load(text)
    assert assert_names_every_key(Config, raw) > 250
    described = comments(text)
    for key, field in every_field(Config):
        assert " ".join(field.description.split()) in described, key
    assert "one of: " + " | ".join(typing.get_args(CPTConfig.model_fields["method"].annotation)) in described
    assert "one of: full | lora | qlora, or null" in described  # estimate.method, with its null
    assert "integer, at least 1, at most 65535" in described  # serve.port's bounds

    def secrets(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from ([(k, v)] if SECRET_KEY.search(str(k)) else secrets(v))
        elif isinstance(node, list):
            for v in node:
                yield from secrets(v)
    found = dict(secrets(raw))
    assert "api_key" in found and all(v is None for v in found.values()), found


def test_short_starter_loads_and_shows_every_stage(tmp_path):
    path = write_starter("jane", tmp_path)
    cfg = load_config(path)
    assert cfg.name == "jane" and cfg.train.sft.method == "lora" and not cfg.train.pref.enabled
    text = path.read_text()
    raw = yaml.safe_load(text)
    assert set(Config.model_fields) - set(raw) == {"run_dir", "estimate"}
    assert set(TrainConfig.model_fields) - set(raw["train"]) == {"accelerate_config"}
    assert len(text.splitlines()) < 100 and "doppel init jane --full" in text
    # The allowed methods of each stage are written out, taken from the schema.
    for stage in ("cpt", "sft", "pref"):
        methods = typing.get_args(type(getattr(cfg.train, stage)).model_fields["method"].annotation)
        assert " | ".join(methods) in text, stage
