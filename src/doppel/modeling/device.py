"""Device and precision choice: CUDA when present, bf16 autocast where the hardware has it."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 instructions (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_device(choice: str = "auto") -> str:
    import torch

    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        return "cuda"
    return "cpu"


def use_bf16(choice: bool | str, device: str) -> bool:
    if choice is True or choice is False:
        return choice
    if device == "cuda":
        import torch

        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


def weights_dtype(device: str, method: str = "lora") -> str:
    """The dtype a base model is loaded in for training or inference.

    On a GPU, bfloat16: an 8B model is never copied to float32 (32 GB). Full fine-tuning keeps
    float32 master weights (its updates are too small for bf16); on the CPU every model is
    small enough for float32, and bf16 autocast still speeds up the matmuls.
    """
    return "bfloat16" if device == "cuda" and method != "full" else "float32"
