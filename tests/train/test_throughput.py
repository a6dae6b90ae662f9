"""Tokens/s and model-FLOPs utilisation reported by the training stages."""

import pytest
import torch

from doppel.train.throughput import flops_per_token, peak_tflops, throughput


def _by_hand(model, seq_len: int, frozen: set[str] = frozenset()) -> float:
    c = model.config
    d, f, layers, vocab = c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.vocab_size
    kv = c.num_key_value_heads * (d // c.num_attention_heads)
    per_layer = {"q_proj": d * d, "k_proj": d * kv, "v_proj": d * kv, "o_proj": d * d,
                 "gate_proj": d * f, "up_proj": d * f, "down_proj": f * d}
    total = sum(2 * n * (2 if name in frozen else 3) for name, n in per_layer.items()) * layers
    total += 2 * d * vocab * (2 if "lm_head" in frozen else 3)  # the output head is a matmul, tied or not
    return total + 12 * layers * d * seq_len


def test_flops_per_token_counts_every_matmul_and_attention(tiny_base):
    from doppel.modeling.loading import ModelSource, load_model

    model, _ = load_model(ModelSource("b", str(tiny_base)))
    assert flops_per_token(model, 128) == _by_hand(model, 128)
    # A frozen weight needs no weight gradient: 4 FLOPs per weight instead of 6.
    for name, p in model.named_parameters():
        if "mlp" in name:
            p.requires_grad_(False)
    frozen = {"gate_proj", "up_proj", "down_proj"}
    assert flops_per_token(model, 128) == _by_hand(model, 128, frozen)
    assert flops_per_token(model, 256) - flops_per_token(model, 128) == 12 * 2 * 64 * 128  # layers x width x T


def test_peak_is_looked_up_by_gpu_name():
    assert peak_tflops("NVIDIA H200") == 989.0
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert peak_tflops("Some Future GPU") is None


def test_throughput_is_tokens_per_median_step_and_mfu_on_a_gpu(monkeypatch, tiny_base):
    from doppel.modeling.loading import ModelSource, load_model

    model, _ = load_model(ModelSource("b", str(tiny_base)))
    packing = {"tokens": 9_000, "rows": 40}  # 225 real tokens a row
    steps = {"first": 3.0, "median": 0.5, "timed_steps": 10}
    cpu = throughput(model, packing, "rows", 8, 256, steps, "cpu")
    assert cpu == {"tokens_per_second": 8 * 225 / 0.5}
    assert throughput(model, packing, "rows", 8, 256, None, "cpu") == {}

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "NVIDIA H200")
    gpu = throughput(model, packing, "rows", 8, 256, steps, "cuda")
    flops = flops_per_token(model, 256) * 3600
    assert gpu["gpu"] == "NVIDIA H200" and gpu["mfu"] == pytest.approx(flops / 989e12, rel=1e-3)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Some Future GPU")
    assert throughput(model, packing, "rows", 8, 256, steps, "cuda")["mfu"] is None
