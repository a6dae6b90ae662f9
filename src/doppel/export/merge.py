"""Merging a LoRA adapter into its full-precision base and saving a standard HF folder."""

from __future__ import annotations

from pathlib import Path

from doppel.modeling.loading import ModelSource, load_model, untie_if_diverged
from doppel.modeling.tokenizer import end_of_turn_ids
from doppel.workspace import atomic_dir


def merge_to_folder(src: ModelSource, folder: Path, dtype: str = "auto") -> dict:
    """Write `src` (base + adapter, or a full model) as one folder AutoModelForCausalLM loads."""
    # Merging happens in the base's own precision (never into a quantized base).
    model, tokenizer = load_model(src, device="cpu", dtype=dtype)
    if src.adapter:
        model = model.merge_and_unload()
        untie_if_diverged(model)
    model.generation_config.eos_token_id = end_of_turn_ids(tokenizer)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    with atomic_dir(folder) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return {"merged_from": src.describe(), "dtype": str(model.dtype).replace("torch.", ""),
            "parameters": sum(p.numel() for p in model.parameters())}
