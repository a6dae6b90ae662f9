"""Trained tiny Llama and Qwen2 models and their GGUF files, built once per test session."""

from __future__ import annotations

import pytest

from tests.export.models import llama_config, qwen2_config, train_and_save


@pytest.fixture(scope="session")
def llama_dir(tmp_path_factory, tokenizer):
    return train_and_save(llama_config(tokenizer), tokenizer, tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="session")
def qwen2_dir(tmp_path_factory, tokenizer):
    return train_and_save(qwen2_config(tokenizer), tokenizer, tmp_path_factory.mktemp("qwen2"))


@pytest.fixture(scope="session")
def llama_ggufs(tmp_path_factory, llama_dir):
    """f16, q8_0 and q4_k_m files of the trained Llama (type → path)."""
    from doppel.export.gguf import write_gguf
    from doppel.export.quantize import quantize

    out = tmp_path_factory.mktemp("llama-gguf")
    files = {"f16": out / "m-f16.gguf"}
    write_gguf(llama_dir, files["f16"], "f16")
    for quant in ("q8_0", "q4_k_m"):
        files[quant] = out / f"m-{quant}.gguf"
        quantize(files["f16"], files[quant], quant)
    return files
