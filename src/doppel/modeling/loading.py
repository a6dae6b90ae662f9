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
MODEL_ORDER = ("export", "rl", "pref", "sft", "cpt", "pretrain")


@dataclass(frozen=True)
class ModelSource:
    label: str  # "base", "cpt", "sft", "merged", ...
    path: str  # a folder or hub name with weights (and tokenizer)
    adapter: str | None = None  # a PEFT adapter folder applied on top of `path`
    # Adapters merged into `path` first, in order (e.g. the SFT adapter under a DPO one).
    pre_adapters: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = [self.path, *(f"merged adapter {a}" for a in self.pre_adapters)]
        if self.adapter:
            parts.append(f"adapter {self.adapter}")
        return " + ".join(parts)


def write_meta(stage_dir: Path, run_root: Path, kind: str, folder: str, base: str | None, **extra) -> None:
    from doppel.workspace import atomic_write_json

    if "pre_adapters" in extra:
        extra["pre_adapters"] = [_relative(a, run_root) for a in extra["pre_adapters"]]
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
        pre = tuple(_absolute(a, run_root) for a in meta.get("pre_adapters", []))
        return ModelSource(label or stage, _absolute(meta["base"], run_root), adapter=folder, pre_adapters=pre)
    return ModelSource(label or stage, folder)


def newest_model(run_root: Path) -> ModelSource:
    for stage in MODEL_ORDER:
        src = stage_model(run_root, stage)
        if src is not None:
            return src
    raise UserError(f"{run_root} has no trained model yet; run 'doppel run CONFIG' first")


def load_model(src: ModelSource, device: str = "cpu", dtype: str = "auto", trainable: bool = False,
               merge: bool = False):
    """Load (model, tokenizer). With an adapter the PEFT model is returned unmerged, or with
    `merge` (inference only) merged into the base in memory: the same function, without the
    adapter's extra matrix products at every step of generation."""
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

        found = base_identity(src.path, model.config, AutoTokenizer.from_pretrained(src.path))
        for pre in src.pre_adapters:
            check_identity(Path(pre), found)
            _fit_vocabulary(model, pre)
            model = PeftModel.from_pretrained(model, pre).merge_and_unload()
        check_identity(Path(src.adapter), found)
        _fit_vocabulary(model, src.adapter)
        model = PeftModel.from_pretrained(model, src.adapter, is_trainable=trainable)
        if merge and not trainable:
            model = model.merge_and_unload()
    model.to(device)
    if not trainable:
        model.eval()
    return model, tokenizer


def _fit_vocabulary(model, adapter: str) -> None:
    """Grow the base's embeddings to an adapter's vocabulary (chat tokens added in training)."""
    from transformers import AutoTokenizer

    size = len(AutoTokenizer.from_pretrained(adapter))
    if size > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(size)


def untie_if_diverged(model) -> None:
    """Mark embeddings untied when a merge left the input embedding and the head different.

    Training new tokens updates the embedding and the head as separate copies; saved with
    `tie_word_embeddings=True`, the head would be dropped and rebuilt from the embedding.
    """
    import torch

    emb, head = model.get_input_embeddings(), model.get_output_embeddings()
    if head is None or emb.weight is head.weight or not getattr(model.config, "tie_word_embeddings", False):
        return
    if emb.weight.shape == head.weight.shape and torch.equal(emb.weight, head.weight):
        return
    model.config.tie_word_embeddings = False
