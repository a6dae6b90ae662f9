"""The YAML config as pydantic models (unknown keys are errors), loading, overrides, redaction.

One module per section; everything is importable from `doppel.config`. Every setting carries a
description, from which `doppel.config.reference` writes the full commented config (`doppel init NAME --full`).
"""

from doppel.config.base import Strict, normalize_name
from doppel.config.evaluate import EvalConfig, GenerationSettings, JudgeSettings
from doppel.config.export import ExportConfig, GGUFType, ParitySettings, ServeConfig
from doppel.config.loader import (REDACTED, Config, apply_override, check_paths, describe_validation_error,
                                  dump_resolved, load_config, parse_config, redact)
from doppel.config.model import DataConfig, ModelConfig, TokenizerSettings
from doppel.config.sources import (CleanSettings, CrawlSettings, DedupSettings, IngestConfig, PersonaConfig,
                                   SourceConfig, SourceKind)
from doppel.config.teacher import CatchphraseGuard, EstimateConfig, ModelPrice, SynthConfig, TeacherConfig
from doppel.config.train import (CPTConfig, LoraSettings, PreferenceConfig, PretrainConfig, SFTConfig, TrainConfig,
                                 TrainStage)

__all__ = [
    "REDACTED", "CatchphraseGuard", "CleanSettings", "Config", "CPTConfig", "CrawlSettings", "DataConfig",
    "DedupSettings", "EstimateConfig", "EvalConfig", "ExportConfig", "GGUFType", "GenerationSettings",
    "IngestConfig", "JudgeSettings", "LoraSettings", "ModelConfig", "ModelPrice", "ParitySettings",
    "PersonaConfig", "PreferenceConfig", "PretrainConfig", "SFTConfig", "ServeConfig", "SourceConfig",
    "SourceKind", "Strict", "SynthConfig", "TeacherConfig", "TokenizerSettings", "TrainConfig", "TrainStage",
    "apply_override", "check_paths", "describe_validation_error", "dump_resolved", "load_config",
    "normalize_name", "parse_config", "redact",
]
