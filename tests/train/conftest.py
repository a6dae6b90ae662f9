"""Tiny local models of both architectures the recipes are tested on (built from configs)."""

import pytest


@pytest.fixture(scope="session", params=["llama", "qwen2"])
def tiny_base(request, tmp_path_factory, tokenizer):
    """A saved, untrained tiny model folder: Llama, then Qwen2 (q/k/v biases, its own config)."""
    from doppel.modeling.presets import build_model

    folder = tmp_path_factory.mktemp(f"tiny-{request.param}")
    build_model("tiny", tokenizer, seed=0, arch=request.param).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
