"""Every config shipped in configs/ parses, its stages resolve, and its LoRA targets exist in
the architecture it names (built on the meta device from published shapes: no download)."""

from pathlib import Path

import pytest
import torch

from doppel import pipeline
from doppel.config import load_config
from doppel.modeling.architectures import KNOWN, meta_model, parameter_count

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))


def test_configs_are_shipped():
    assert {p.name for p in CONFIGS} >= {"llama3.1-8b-qlora.yaml", "qwen2.5-1.5b-lora.yaml"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_parses_resolves_and_targets_exist(path):
    cfg = load_config(path)
    assert cfg.model.base in KNOWN, "add the architecture to doppel.modeling.architectures.KNOWN"
    enabled = [s.name for s in pipeline.STAGES if s.enabled(cfg)]
    assert "pretrain" not in enabled and {"ingest", "build", "sft", "eval", "export"} <= set(enabled)
    model = meta_model(cfg.model.base)
    names = {name.split(".")[-1] for name, _ in model.named_modules()}
    linear = {name.split(".")[-1] for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    for stage in ("cpt", "sft", "pref"):
        settings = getattr(cfg.train, stage)
        if not settings.enabled or getattr(settings, "method", "lora") not in ("lora", "qlora", "dpo", "cpo",
                                                                                "simpo", "orpo", "kto"):
            continue
        targets = settings.lora.target_modules
        if targets == "all-linear":
            assert linear - {"lm_head"}
        else:
            missing = set(targets) - names
            assert not missing, f"{path.name}: train.{stage}.lora.target_modules {missing} not in {cfg.model.base}"


def test_meta_models_have_their_published_sizes():
    assert abs(parameter_count("meta-llama/Llama-3.1-8B") / 1e9 - 8.03) < 0.05
    assert abs(parameter_count("Qwen/Qwen2.5-1.5B") / 1e9 - 1.54) < 0.05
    assert abs(parameter_count("Qwen/Qwen2.5-0.5B") / 1e9 - 0.49) < 0.02
