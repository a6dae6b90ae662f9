"""Shapes of well-known base models, so configs can be checked and costs estimated offline.

These are the published architecture settings (no weights). A model built from one of them
on PyTorch's meta device shows its module names, e.g. to check LoRA target modules.
"""

from __future__ import annotations

KNOWN: dict[str, dict] = {
    "meta-llama/Llama-3.1-8B": dict(
        model_type="llama", hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, intermediate_size=14336, vocab_size=128256, max_position_embeddings=131072,
        tie_word_embeddings=False),
    "meta-llama/Llama-3.2-1B": dict(
        model_type="llama", hidden_size=2048, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, intermediate_size=8192, vocab_size=128256, max_position_embeddings=131072,
        tie_word_embeddings=True),
    "Qwen/Qwen2.5-0.5B": dict(
        model_type="qwen2", hidden_size=896, num_hidden_layers=24, num_attention_heads=14,
        num_key_value_heads=2, intermediate_size=4864, vocab_size=151936, max_position_embeddings=32768,
        tie_word_embeddings=True),
    "Qwen/Qwen2.5-1.5B": dict(
        model_type="qwen2", hidden_size=1536, num_hidden_layers=28, num_attention_heads=12,
        num_key_value_heads=2, intermediate_size=8960, vocab_size=151936, max_position_embeddings=131072,
        tie_word_embeddings=True),
    "mistralai/Mistral-7B-v0.3": dict(
        model_type="mistral", hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8, intermediate_size=14336, vocab_size=32768, max_position_embeddings=32768,
        tie_word_embeddings=False),
}


def config_for(name: str):
    """A transformers config for a known base model name."""
    from transformers import AutoConfig

    settings = dict(KNOWN[name])
    return AutoConfig.for_model(settings.pop("model_type"), **settings)


def meta_model(name: str):
    """The model built on the meta device: every module and shape, no memory for weights."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config_for(name))


def parameter_count(name: str) -> int:
    return sum(p.numel() for p in meta_model(name).parameters())
