"""Llama 3.1's rope scaling in Doppel's GGUF writer: the factors transformers uses, the logits it computes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from doppel.errors import UserError
from doppel.export.gguf import (ARCHS, add_rope_tensor, gguf_rope_freqs_name, llama3_rope_factors,
                                rope_parameters, write_gguf)
from doppel.export.quantize import quantize
from doppel.modeling import llamacpp
from tests.conftest import SAMPLE_TEXT
from tests.export.models import llama_config

# Llama 3.1's published settings, with the pre-training context shrunk to 32 positions so that a tiny
# model's short text already runs past it (and most of the 32 rotary frequencies are scaled).
LLAMA31 = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
           "high_freq_factor": 4.0, "original_max_position_embeddings": 32}


def test_llama3_rope_scaling_matches_transformers(tmp_path, tokenizer):
    from gguf import GGUFReader
    from transformers import AutoModelForCausalLM
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    config = llama_config(tokenizer, rope_parameters=dict(LLAMA31))
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    info = write_gguf(tmp_path / "m", tmp_path / "m.gguf", "f32")
    assert info["rope"] == "llama3"

    # The divisors in the file turn llama.cpp's plain frequencies into transformers' scaled ones.
    head_dim = config.hidden_size // config.num_attention_heads
    expected, attention_factor = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    assert attention_factor == 1.0  # llama3 scaling leaves attention's temperature alone
    stored = {t.name: np.array(t.data) for t in GGUFReader(str(tmp_path / "m.gguf")).tensors}
    factors = stored[gguf_rope_freqs_name()]
    plain = 1.0 / LLAMA31["rope_theta"] ** (np.arange(0, head_dim, 2) / head_dim)
    np.testing.assert_allclose(plain / factors, expected.numpy(), rtol=1e-6)
    assert factors.min() == 1.0 and factors.max() == LLAMA31["factor"] and (factors > 1).sum() > head_dim // 4

    # llama.cpp computes what transformers computes over 240+ positions, far past the 32 pre-trained ones;
    # the same weights written without the scaling do not (measured 8e-7 against 0.062).
    ids = tokenizer(" ".join(sorted(set(SAMPLE_TEXT))) * 2, add_special_tokens=False)["input_ids"]
    assert len(ids) > 200
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "m", dtype=torch.float32).eval()
    with torch.no_grad():
        reference = model(torch.tensor([ids])).logits[0].numpy()
    scaled = llamacpp.logits(llamacpp.load_gguf(tmp_path / "m.gguf", n_ctx=512, logits_all=True, kv_f32=True), ids)
    assert np.abs(scaled - reference).max() < 1e-4

    shutil.copytree(tmp_path / "m", tmp_path / "plain")
    cfg = json.loads((tmp_path / "plain" / "config.json").read_text())
    cfg["rope_parameters"] = {"rope_type": "default", "rope_theta": LLAMA31["rope_theta"]}
    (tmp_path / "plain" / "config.json").write_text(json.dumps(cfg))
    write_gguf(tmp_path / "plain", tmp_path / "plain.gguf", "f32")
    unscaled = llamacpp.logits(llamacpp.load_gguf(tmp_path / "plain.gguf", n_ctx=512, logits_all=True,
                                                  kv_f32=True), ids)
    assert np.abs(unscaled - reference).max() > 100 * np.abs(scaled - reference).max() + 0.01

    # llama.cpp's quantizer keeps the divisors, in f32, in the q8_0 file; llama.cpp runs it.
    quantize(tmp_path / "m.gguf", tmp_path / "q8_0.gguf", "q8_0")
    kept = {t.name: np.array(t.data) for t in GGUFReader(str(tmp_path / "q8_0.gguf")).tensors}
    np.testing.assert_array_equal(kept[gguf_rope_freqs_name()], factors)
    q8 = llamacpp.logits(llamacpp.load_gguf(tmp_path / "q8_0.gguf", n_ctx=512, logits_all=True, kv_f32=True), ids)
    assert np.isfinite(q8).all() and (q8.argmax(-1) == scaled.argmax(-1)).mean() > 0.5


def test_rope_settings_in_either_spelling_and_refusals(tmp_path):
    # transformers before 5 kept the scaling in rope_scaling and the base at the top level.
    old = {"rope_theta": 500000.0, "rope_scaling": {k: v for k, v in LLAMA31.items() if k != "rope_theta"}}
    rope = rope_parameters(old, tmp_path)
    assert rope["rope_type"] == "llama3" and rope["rope_theta"] == 500000.0
    assert rope_parameters({"rope_scaling": {"type": "default"}}, tmp_path)["rope_theta"] == 10000.0
    np.testing.assert_allclose(llama3_rope_factors(8, {**LLAMA31, "original_max_position_embeddings": 10 ** 9}), 1.0)

    for kind in ("yarn", "linear", "dynamic", "longrope"):
        with pytest.raises(UserError, match=f"config.json: rope scaling '{kind}' is not supported"):
            rope_parameters({"rope_parameters": {"rope_type": kind, "factor": 2.0}}, tmp_path)
    with pytest.raises(UserError, match="lacks low_freq_factor"):
        rope_parameters({"rope_parameters": {"rope_type": "llama3", "factor": 8.0, "high_freq_factor": 4.0,
                                             "original_max_position_embeddings": 8192}}, tmp_path)
    qwen = {"hidden_size": 256, "num_attention_heads": 4, "rope_parameters": dict(LLAMA31)}
    with pytest.raises(UserError, match="'qwen2' architecture does not apply 'llama3' rope scaling"):
        add_rope_tensor(None, qwen, tmp_path, ARCHS["Qwen2ForCausalLM"])
