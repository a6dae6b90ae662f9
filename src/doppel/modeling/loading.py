"""Where each stage's model lives, and loading it (full model or base + PEFT adapter).

Every trained stage writes `models/<stage>/meta.json`: `{"type": "full"|"adapter",
"path": <folder>, "base": <base model folder or hub name>}`. Paths inside the run folder
are stored relative to it, so a moved run folder still loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from doppel.errors import UserError

# Newest first: what `chat` and `serve` pick when no model is named.
MODEL_ORDER = ("export", "sft", "cpt", "pretrain")


@dataclass(frozen=True)
class ModelSource:
    label: str  # "base", "cpt", "sft", "merged", ...
    path: str  # a folder or hub name with weights (and tokenizer)
    adapter: str | None = None  # a PEFT adapter folder applied on top of `path`

    def describe(self) -> str:
        return f"{self.path} + adapter {self.adapter}" if self.adapter else self.path


def write_meta(stage_dir: Path, run_root: Path, kind: str, folder: str, base: str | None, **extra) -> None:
    from doppel.workspace import atomic_write_json

    atomic_write_json(stage_dir / "meta.json", {
        "type": kind, "path": folder, "base": _relative(base, run_root), **extra})


def _relative(ref: str | None, run_root: Path) -> str | None:
    if ref is None:
        return None
    p = Path(ref)
    if p.is_absolute():
        try:
            return "@run/" + str(p.resolve().relative_to(run_root.resolve()))
        except ValueError:
            return str(p)
    return ref


def _absolute(ref: str | None, run_root: Path) -> str | None:
    if ref is not None and ref.startswith("@run/"):
        return str(run_root / ref[len("@run/"):])
    return ref


def stage_model(run_root: Path, stage: str, label: str | None = None) -> ModelSource | None:
    """The model a finished stage wrote, or None when it has not written one."""
    meta_path = run_root / "models" / stage / "meta.json"
    if stage == "export":
        merged = run_root / "export" / "merged"
        return ModelSource(label or "merged", str(merged)) if (merged / "config.json").exists() else None
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    folder = str(run_root / "models" / stage / meta["path"])
    if meta["type"] == "adapter":
        return ModelSource(label or stage, _absolute(meta["base"], run_root), adapter=folder)
    return ModelSource(label or stage, folder)


def newest_model(run_root: Path) -> ModelSource:
    for stage in MODEL_ORDER:
        src = stage_model(run_root, stage)
        if src is not None:
            return src
    raise UserError(f"{run_root} has no trained model yet; run 'doppel run CONFIG' first")


def load_model(src: ModelSource, device: str = "cpu", dtype: str = "auto", trainable: bool = False):
    """Load (model, tokenizer). With an adapter the PEFT model is returned unmerged."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
    try:
        tokenizer = AutoTokenizer.from_pretrained(src.adapter or src.path)
        model = AutoModelForCausalLM.from_pretrained(src.path, dtype=torch_dtype)
    except OSError as err:
        raise UserError(f"could not load model '{src.describe()}': {err}. Check the path or hub "
                        f"name (this machine may have no network access to a hub)") from None
    if src.adapter:
        from peft import PeftModel

        from doppel.modeling.identity import base_identity, check_identity

        base_tokenizer = AutoTokenizer.from_pretrained(src.path)
        check_identity(Path(src.adapter), base_identity(src.path, model.config, base_tokenizer))
        model = PeftModel.from_pretrained(model, src.adapter, is_trainable=trainable)
    model.to(device)
    if not trainable:
        model.eval()
    return model, tokenizer
