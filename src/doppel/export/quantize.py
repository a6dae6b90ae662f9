"""Quantizing a full-precision GGUF with llama.cpp's own quantizer (through llama-cpp-python)."""

from __future__ import annotations

from pathlib import Path

from doppel.errors import UserError
from doppel.modeling.llamacpp import default_threads, quiet, require_llama_cpp

# Doppel's names (lower case, as users type them) → llama.cpp file types.
QUANTS = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "q6_k": "LLAMA_FTYPE_MOSTLY_Q6_K",
          "q5_k_m": "LLAMA_FTYPE_MOSTLY_Q5_K_M", "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
          "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0"}
# Bits per weight, roughly: the order `--pick` walks from smallest to largest.
BITS = {"q4_0": 4.5, "q4_k_m": 4.85, "q5_k_m": 5.7, "q6_k": 6.6, "q8_0": 8.5, "bf16": 16, "f16": 16, "f32": 32}


def quantize(source: Path, out: Path, quant: str, threads: int | None = None) -> dict:
    """Write `out` as the `quant` quantization of the f32/f16/bf16 GGUF `source` (atomically)."""
    if quant not in QUANTS:
        raise UserError(f"unknown quantization '{quant}'; choose from {', '.join(QUANTS)}")
    llama_cpp = require_llama_cpp()
    quiet()
    source, out = Path(source), Path(out)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANTS[quant])
    params.nthread = threads or default_threads()
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.unlink(missing_ok=True)
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(tmp).encode(), params)
    if status != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"llama.cpp could not quantize {source} to {quant} (status {status})")
    tmp.replace(out)
    return {"file": str(out), "type": quant, "bytes": out.stat().st_size}
