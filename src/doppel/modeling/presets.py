"""Model size presets for models built from scratch (Llama architecture; Qwen2 for tests).

Intermediate sizes are multiples of 256 so GGUF block quantization covers every tensor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Preset:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    intermediate_size: int
    max_position_embeddings: int = 1024
    tie_word_embeddings: bool = True


PRESETS: dict[str, Preset] = {
    # ~0.1M parameters plus embeddings: for tests.
    "tiny": Preset(64, 2, 4, 4, 256, 512),
    # ~3M plus embeddings: the CPU demo (a few thousand tokens/s on 2 cores).
    "small": Preset(256, 4, 4, 4, 768, 1024),
    # ~25M plus embeddings: a longer CPU run or a quick GPU run.
    "medium": Preset(512, 8, 8, 4, 1536, 2048),
    # ~75M plus embeddings: a GPU run of an hour or so.
    "large": Preset(768, 12, 12, 4, 2048, 2048),
    # ~1B plus embeddings (TinyLlama's shape): days of GPU time; for real pretraining budgets.
    "1b": Preset(2048, 22, 32, 4, 5632, 2048, tie_word_embeddings=False),
}
ARCHITECTURES = ("llama", "qwen2")


def build_model(preset: str, tokenizer, seed: int = 0, arch: str = "llama"):
    """A freshly initialised causal LM sized by `preset` for `tokenizer` (Llama, or Qwen2)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    p = PRESETS[preset]
    config_cls, model_cls = {"llama": (LlamaConfig, LlamaForCausalLM), "qwen2": (Qwen2Config, Qwen2ForCausalLM)}[arch]
    config = config_cls(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **asdict(p),
    )
    torch.manual_seed(seed)
    return model_cls(config)
