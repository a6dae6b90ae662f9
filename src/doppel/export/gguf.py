"""Writing a Hugging Face folder (Llama, Mistral or Qwen2) as GGUF with the `gguf` package.

llama.cpp's own converter rejects tokenizers it has not seen before (it fingerprints the
pre-tokenizer), so a tokenizer trained by Doppel could not be exported with it. This module
writes the file directly: hyper-parameters (with Llama 3.1's rope scaling as the `rope_freqs`
divisors llama.cpp applies), every tensor (f32, f16 or bf16), and the whole tokenizer —
byte-level or SentencePiece-style vocabulary, merges or scores, token types,
BOS/EOS/end-of-turn/pad ids and the chat template — so the GGUF tokenizes, formats chats and
stops exactly like the HF model.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from doppel.errors import UserError
from doppel.export.gguf_vocab import add_tokenizer

FLOAT_TYPES = ("f32", "f16", "bf16")
ROPE_TYPES = ("default", "llama3")
LLAMA3_KEYS = ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")


@dataclass(frozen=True)
class Arch:
    """How one HF architecture maps onto a llama.cpp architecture."""

    gguf_name: str
    # llama.cpp's "llama" graph rotates adjacent pairs, HF's Llama rotates halves: q and k
    # rows are reordered so both compute the same thing. Qwen2 uses the halves layout in both.
    permute_qk: bool
    # Whether llama.cpp's graph for it reads per-frequency rotary divisors (`rope_freqs`, Llama 3.1 scaling).
    rope_freqs: bool


ARCHS = {
    "LlamaForCausalLM": Arch("llama", True, True),
    "MistralForCausalLM": Arch("llama", True, True),
    "Qwen2ForCausalLM": Arch("qwen2", False, False),
}


def _config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.exists():
        raise UserError(f"{folder} has no config.json; export needs a Hugging Face model folder "
                        f"(run 'doppel export RUN_DIR' after training)")
    return json.loads(path.read_text(encoding="utf-8"))


def architecture(cfg: dict, folder: Path) -> Arch:
    names = cfg.get("architectures") or []
    for name in names:
        if name in ARCHS:
            return ARCHS[name]
    raise UserError(f"{folder}: architecture {names or '(none)'} cannot be written as GGUF by Doppel; "
                    f"supported are {', '.join(ARCHS)}. Export the merged folder and use llama.cpp's "
                    f"convert_hf_to_gguf.py for other architectures")


def rope_parameters(cfg: dict, folder: Path) -> dict:
    """The rotary embedding's settings, however the config spells them: transformers 5's
    `rope_parameters`, or the older `rope_scaling` with `rope_theta` at the top level."""
    params = {**(cfg.get("rope_scaling") or {}), **(cfg.get("rope_parameters") or {})}
    kind = params.get("rope_type") or params.get("type") or "default"
    theta = float(params.get("rope_theta") or cfg.get("rope_theta") or 10000.0)
    if kind not in ROPE_TYPES:
        raise UserError(f"{folder}/config.json: rope scaling '{kind}' is not supported by Doppel's GGUF writer "
                        f"(supported: {', '.join(ROPE_TYPES)}); use llama.cpp's convert_hf_to_gguf.py for this model")
    if kind == "llama3":
        missing = [k for k in LLAMA3_KEYS if k not in params]
        if missing:
            raise UserError(f"{folder}/config.json: rope scaling 'llama3' lacks {', '.join(missing)}; a Llama 3.1 "
                            f"config sets factor, low_freq_factor, high_freq_factor and original_max_position_embeddings")
    return {**params, "rope_type": kind, "rope_theta": theta}


def llama3_rope_factors(head_dim: int, rope: dict):
    """Llama 3.1's frequency scaling as llama.cpp applies it: one divisor per rotary frequency (the
    `rope_freqs` tensor). Long wavelengths are slowed by `factor`, short ones kept, and those between
    blended smoothly, so the model reaches past the context it was pre-trained on."""
    import numpy as np

    inv_freq = 1.0 / rope["rope_theta"] ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    wavelength = 2 * np.pi / inv_freq
    factor, low, high = float(rope["factor"]), float(rope["low_freq_factor"]), float(rope["high_freq_factor"])
    context = float(rope["original_max_position_embeddings"])
    smooth = np.clip((context / wavelength - low) / (high - low), 0.0, 1.0)
    # smooth 0: wavelength beyond context/low (divide by factor); 1: shorter than context/high (keep).
    divisor = 1.0 / ((1.0 - smooth) / factor + smooth)
    return divisor.astype(np.float32)


def head_dim(cfg: dict) -> int:
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def model_rope(cfg: dict, folder: Path, arch: Arch) -> dict:
    """The rope settings, checked against what llama.cpp's graph for `arch` can apply."""
    rope = rope_parameters(cfg, folder)
    if rope["rope_type"] == "llama3" and not arch.rope_freqs:
        raise UserError(f"{folder}/config.json: llama.cpp's '{arch.gguf_name}' architecture does not apply "
                        f"'llama3' rope scaling; only Llama and Mistral models can carry it in a GGUF")
    return rope


def add_rope_tensor(writer, cfg: dict, folder: Path, arch: Arch) -> bool:
    """Write `rope_freqs` when the model scales its rotary frequencies; True when it did."""
    rope = model_rope(cfg, folder, arch)
    if rope["rope_type"] != "llama3":
        return False
    writer.add_tensor(gguf_rope_freqs_name(), llama3_rope_factors(head_dim(cfg), rope))
    return True


def gguf_rope_freqs_name() -> str:
    import gguf

    return gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight"


def add_hyperparameters(writer, cfg: dict, folder: Path) -> None:
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    dim = head_dim(cfg)
    writer.add_context_length(cfg.get("max_position_embeddings", 2048))
    writer.add_embedding_length(cfg["hidden_size"])
    writer.add_block_count(cfg["num_hidden_layers"])
    writer.add_feed_forward_length(cfg["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(dim)
    if dim * heads != cfg["hidden_size"]:
        writer.add_key_length(dim)
        writer.add_value_length(dim)
    writer.add_rope_freq_base(rope_parameters(cfg, folder)["rope_theta"])
    writer.add_layer_norm_rms_eps(float(cfg.get("rms_norm_eps", 1e-6)))
    writer.add_vocab_size(cfg["vocab_size"])


def permute_rows(w, n_head: int):
    """Reorder each head's rows from halves layout (HF) to interleaved pairs (llama.cpp)."""
    rows = w.shape[0]
    per_head = rows // n_head
    return w.reshape(n_head, 2, per_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _to_gguf_array(arr, ftype: str):
    """(data, raw_dtype) for one tensor: vectors stay f32, matrices take the file's type."""
    import numpy as np
    from gguf import GGMLQuantizationType
    from gguf.quants import quantize

    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.ndim == 1 or ftype == "f32":
        return arr, None
    if ftype == "f16":
        return arr.astype(np.float16), None
    return quantize(arr, GGMLQuantizationType.BF16), GGMLQuantizationType.BF16


def iter_weights(folder: Path):
    """(name, float32 numpy array) for every tensor in the folder's safetensors files."""
    import torch
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise UserError(f"{folder} has no *.safetensors weights; save the model with "
                        f"save_pretrained (safe_serialization is the default)")
    for file in files:
        with safe_open(str(file), framework="pt") as fh:
            for name in fh.keys():
                yield name, fh.get_tensor(name).to(torch.float32).numpy()


def gguf_tensor_name(hf_name: str, name_map) -> str | None:
    return name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))


def add_tensors(writer, folder: Path, cfg: dict, arch: Arch, ftype: str) -> int:
    """Add every tensor under its llama.cpp name; returns how many were written."""
    import gguf

    n_layers = cfg["num_hidden_layers"]
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.gguf_name.upper()], n_layers)
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    tied = cfg.get("tie_word_embeddings", False)
    count = 0
    for hf_name, arr in iter_weights(folder):
        if hf_name == "lm_head.weight" and tied:
            continue  # llama.cpp reuses token_embd when output.weight is absent
        if hf_name.endswith("rotary_emb.inv_freq"):
            continue  # recomputed from rope_freq_base
        name = gguf_tensor_name(hf_name, name_map)
        if name is None:
            raise UserError(f"{folder}: tensor '{hf_name}' has no GGUF name for architecture "
                            f"'{arch.gguf_name}'; this model variant is not supported")
        if arch.permute_qk and hf_name.endswith("q_proj.weight"):
            arr = permute_rows(arr, heads)
        elif arch.permute_qk and hf_name.endswith("k_proj.weight"):
            arr = permute_rows(arr, kv_heads)
        data, raw = _to_gguf_array(arr, ftype)
        writer.add_tensor(name, data, raw_dtype=raw)
        count += 1
    return count


@contextmanager
def gguf_writer(out: Path, arch_name: str):
    """A GGUFWriter whose file appears at `out` only once completely written (tmp + rename)."""
    import gguf

    tmp = out.with_name(f".{out.name}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(tmp), arch_name)
    try:
        yield writer
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    tmp.replace(out)


def write_gguf(folder: Path, out: Path, ftype: str = "f16", name: str | None = None,
               tokenizer_folder: Path | None = None) -> dict:
    """Write the HF model in `folder` as one GGUF file at `out` (atomically)."""
    import gguf

    if ftype not in FLOAT_TYPES:
        raise UserError(f"GGUF float type '{ftype}' is not one of {', '.join(FLOAT_TYPES)}")
    folder, out = Path(folder), Path(out)
    cfg = _config(folder)
    arch = architecture(cfg, folder)
    rope = model_rope(cfg, folder, arch)["rope_type"]  # refused here, before any tensor is read
    with gguf_writer(out, arch.gguf_name) as writer:
        writer.add_name(name or folder.name)
        writer.add_file_type({"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                              "bf16": gguf.LlamaFileType.MOSTLY_BF16}[ftype])
        add_hyperparameters(writer, cfg, folder)
        vocab = add_tokenizer(writer, tokenizer_folder or folder, cfg["vocab_size"])
        tensors = add_tensors(writer, folder, cfg, arch, ftype)
        tensors += add_rope_tensor(writer, cfg, folder, arch)
    return {"file": str(out), "type": ftype, "architecture": arch.gguf_name, "tensors": tensors,
            "rope": rope, "bytes": out.stat().st_size, **vocab}
