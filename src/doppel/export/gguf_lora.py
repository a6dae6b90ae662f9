"""A fine-tune's LoRA adapters alone, as one GGUF adapter file llama.cpp loads on the base's GGUF.

llama.cpp adds an adapter to a weight as  y = W·x + scale·B·(A·x),  scale = user_scale·alpha/rank,
reading `<tensor>.lora_a` (rank × in), `<tensor>.lora_b` (out × rank) and `adapter.lora.alpha`
(`general.type` "adapter", `adapter.type` "lora"). LoRA deltas add up, so the SFT adapter and a
preference adapter trained on the SFT-merged model become one adapter whose rank is the sum of
theirs: A stacks the A's, B stacks the B's, each B multiplied so its delta keeps the scale PEFT
gave it (alpha/r, alpha/√r with rsLoRA, per-module rank and alpha patterns included). A single
plain adapter is written unchanged, as llama.cpp's own converter writes it.

Only what llama.cpp can apply is accepted: LoRA on the attention and MLP matrices, the output
head (when not tied to the embedding) and the token embedding (when untied). Fully trained
modules (`modules_to_save`), DoRA, LoRA biases and modules without a llama.cpp tensor are refused
with the reason.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from doppel.errors import UserError
from doppel.export.gguf import _config, architecture, gguf_tensor_name, gguf_writer, permute_rows

USE_MERGED = "export the merged model's GGUF instead (set export.lora_gguf: false)"
_LINEAR = re.compile(r"^base_model\.model\.(.+)\.(lora_A|lora_B)\.weight$")
_EMBEDDING = re.compile(r"^base_model\.model\.(.+)\.lora_embedding_(A|B)$")


@dataclass
class Delta:
    """One module's low-rank update: W + b @ a, with the adapter's scale already inside b."""

    a: object  # numpy (rank, in)
    b: object  # numpy (out, rank)


def adapter_config(folder: Path) -> dict:
    path = folder / "adapter_config.json"
    if not path.exists():
        raise UserError(f"{folder} has no adapter_config.json; a LoRA GGUF needs a PEFT LoRA adapter folder")
    cfg = json.loads(path.read_text(encoding="utf-8"))
    refusals = {
        "peft_type": (cfg.get("peft_type") != "LORA", f"is '{cfg.get('peft_type')}'; only LoRA adapters "
                      f"can be written as a llama.cpp adapter"),
        "use_dora": (cfg.get("use_dora"), "is true; llama.cpp cannot apply DoRA's magnitude vectors"),
        "lora_bias": (cfg.get("lora_bias"), "is true; llama.cpp adapters carry no bias terms"),
        "bias": (cfg.get("bias", "none") != "none", f"is '{cfg.get('bias')}'; llama.cpp adapters carry no "
                 f"trained biases"),
        "modules_to_save": (cfg.get("modules_to_save"), f"trains {cfg.get('modules_to_save')} in full (new "
                            f"chat tokens); a llama.cpp adapter holds low-rank updates only"),
        "trainable_token_indices": (cfg.get("trainable_token_indices"), "trains single token rows, which a "
                                    "llama.cpp adapter cannot hold"),
    }
    for key, (refused, why) in refusals.items():
        if refused:
            raise UserError(f"{path}: {key} {why}; {USE_MERGED}")
    return cfg


def peft_scale(cfg: dict, module: str, rank: int) -> float:
    """PEFT's scale of one module: alpha / r (alpha / √r with rsLoRA); `alpha_pattern` keys match the
    module name or its dotted tail, the first match winning, as in PEFT. `rank` is the module's own."""
    alpha = float(cfg["lora_alpha"])
    for key, value in (cfg.get("alpha_pattern") or {}).items():
        if re.fullmatch(rf"(.*\.)?({key})", module):
            alpha = float(value)
            break
    return alpha / math.sqrt(rank) if cfg.get("use_rslora") else alpha / rank


def read_deltas(folder: Path) -> tuple[dict[str, Delta], dict, set[str]]:
    """(HF module name → Delta with PEFT's scale folded into b, adapter config, embedding modules)."""
    import numpy as np
    import torch
    from safetensors import safe_open

    cfg = adapter_config(folder)
    file = folder / "adapter_model.safetensors"
    if not file.exists():
        raise UserError(f"{folder} has no adapter_model.safetensors; save the adapter with save_pretrained")
    parts: dict[str, dict[str, object]] = {}
    embeddings: set[str] = set()
    with safe_open(str(file), framework="pt") as fh:
        for key in fh.keys():
            if key.endswith(".base_layer.weight"):
                continue  # PEFT's copy of a frozen base matrix (saved with embedding LoRA): the base GGUF has it
            found = _LINEAR.match(key) or _EMBEDDING.match(key)
            if not found:
                raise UserError(f"{file}: tensor '{key}' is not a LoRA A/B matrix; llama.cpp adapters hold "
                                f"only those; {USE_MERGED}")
            module, kind = found.group(1), found.group(2)[-1]
            if found.re is _EMBEDDING:
                embeddings.add(module)
            parts.setdefault(module, {})[kind] = fh.get_tensor(key).to(torch.float32).numpy()
    deltas = {}
    for module, ab in sorted(parts.items()):
        if set(ab) != {"A", "B"}:
            raise UserError(f"{file}: module '{module}' has lora_{'A' if 'A' in ab else 'B'} but not its pair; "
                            f"the adapter file is incomplete")
        scale = peft_scale(cfg, module, ab["A"].shape[0])  # rank_pattern shows in the matrices' shapes
        deltas[module] = Delta(np.ascontiguousarray(ab["A"]), ab["B"] * np.float32(scale))
    if not deltas:
        raise UserError(f"{file} holds no LoRA matrices")
    return deltas, cfg, embeddings


def _base_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    shapes = {}
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as fh:
            for name in fh.keys():
                shapes[name] = tuple(fh.get_slice(name).get_shape())
    return shapes


class _Mapper:
    """HF module name → (llama.cpp tensor name, how to lay out A and B), checked against the base."""

    def __init__(self, base: Path, cfg: dict):
        import gguf

        self.base, self.cfg = base, cfg
        self.arch = architecture(cfg, base)
        self.names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[self.arch.gguf_name.upper()],
                                              cfg["num_hidden_layers"])
        self.shapes = _base_shapes(base)
        self.tied = bool(cfg.get("tie_word_embeddings", False))

    def gguf_name(self, module: str, where: Path) -> str:
        weight = f"{module}.weight"
        name = gguf_tensor_name(weight, self.names)
        if self.tied and name in ("output.weight", "token_embd.weight"):
            raise UserError(f"{where}: the adapter targets '{module}' but the base ties the output head to the "
                            f"token embedding, which llama.cpp then reads as one tensor; a low-rank update of "
                            f"one of them cannot be applied there; {USE_MERGED}")
        if weight not in self.shapes:
            raise UserError(f"{where}: the adapter targets '{module}', which the base model {self.base} does "
                            f"not have; the adapter belongs to another base")
        if name is None:
            raise UserError(f"{where}: the adapter targets '{module}', which has no llama.cpp tensor in "
                            f"architecture '{self.arch.gguf_name}'; train with target_modules limited to the "
                            f"attention and MLP projections, or {USE_MERGED}")
        return name

    def layout(self, module: str, name: str, delta: Delta, embedding: bool, where: Path) -> tuple:
        """(lora_a, lora_b) as numpy arrays in llama.cpp's layout."""
        rows, cols = self.shapes[f"{module}.weight"]
        a, b = delta.a, delta.b
        if embedding:  # PEFT: A is rank × vocab, B is hidden × rank; the weight is vocab × hidden
            if a.shape[1] != rows or b.shape[0] != cols:
                raise UserError(f"{where}: LoRA of '{module}' is {b.shape[0]}×{a.shape[1]} but the base's "
                                f"embedding is {cols}×{rows}; the adapter belongs to another base")
            return a.T.copy(), b  # llama.cpp gathers rows of lora_a (vocab × rank) by token id
        if a.shape[1] != cols or b.shape[0] != rows:
            raise UserError(f"{where}: LoRA of '{module}' is {b.shape[0]}×{a.shape[1]} but the base's "
                            f"weight is {rows}×{cols}; the adapter belongs to another base")
        if self.arch.permute_qk and name.endswith("attn_q.weight"):
            b = permute_rows(b, self.cfg["num_attention_heads"])
        elif self.arch.permute_qk and name.endswith("attn_k.weight"):
            b = permute_rows(b, self.cfg.get("num_key_value_heads") or self.cfg["num_attention_heads"])
        return a, b


def combined_tensors(base: Path, adapters: list[Path]) -> tuple[dict[str, tuple], float, dict]:
    """{llama.cpp name: (lora_a, lora_b)} of all adapters summed, the alpha to write, and a summary."""
    import numpy as np

    mapper = _Mapper(base, _config(base))
    stacked: dict[str, list[tuple]] = {}
    alpha = None
    for folder in adapters:
        deltas, cfg, embeddings = read_deltas(folder)
        alpha = alpha or float(cfg["lora_alpha"])
        for module, delta in deltas.items():
            name = mapper.gguf_name(module, folder)
            stacked.setdefault(name, []).append(mapper.layout(module, name, delta, module in embeddings, folder))
    tensors = {}
    for name, pairs in stacked.items():
        embedding = name == "token_embd.weight"
        a = np.concatenate([p[0] for p in pairs], axis=1 if embedding else 0)
        rank = a.shape[1] if embedding else a.shape[0]
        # llama.cpp multiplies by alpha / rank (rank of the stacked pair): undo that, keep PEFT's scales.
        b = np.concatenate([p[1] for p in pairs], axis=1) * np.float32(rank / alpha)
        tensors[name] = (np.ascontiguousarray(a, dtype=np.float32), np.ascontiguousarray(b, dtype=np.float32))
    summary = {"architecture": mapper.arch.gguf_name, "adapters": [str(a) for a in adapters],
               "modules": len(tensors), "alpha": alpha}
    return tensors, alpha, summary


def write_lora_gguf(base: Path, adapters: list[Path], out: Path, name: str | None = None) -> dict:
    """Write `adapters` (applied in order on the HF model in `base`) as one GGUF LoRA adapter at `out`."""
    import gguf

    if not adapters:
        raise UserError("no adapter to write: the model was not fine-tuned with LoRA")
    base, out = Path(base), Path(out)
    tensors, alpha, summary = combined_tensors(base, [Path(a) for a in adapters])
    with gguf_writer(out, summary["architecture"]) as writer:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_name(name or Path(adapters[-1]).name)
        writer.add_file_type(gguf.LlamaFileType.ALL_F32)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
        for tensor_name, (a, b) in sorted(tensors.items()):
            writer.add_tensor(f"{tensor_name}.lora_a", a)
            writer.add_tensor(f"{tensor_name}.lora_b", b)
    ranks = sorted({(b.shape[1]) for _, b in tensors.values()})
    return {**summary, "file": str(out), "ranks": ranks, "bytes": out.stat().st_size}


def local_folder(path: str) -> Path:
    """The folder of a base model given as a folder or as a hub name already in the local cache."""
    if Path(path).is_dir():
        return Path(path)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(path, local_files_only=True))
    except Exception:
        raise UserError(f"the adapter's base model '{path}' is neither a folder nor in the local Hugging Face "
                        f"cache; download it first (huggingface-cli download {path})") from None


def write_base_gguf(base: str, adapter: Path, out: Path, ftype: str = "f16", name: str | None = None) -> dict:
    """The base model as GGUF, carrying the adapter's tokenizer and chat template (saved with the adapter)."""
    from doppel.export.gguf import write_gguf
    from doppel.modeling.tokenizer import load_tokenizer

    folder = local_folder(base)
    vocab = _config(folder)["vocab_size"]
    tokens = len(load_tokenizer(adapter))
    if tokens > vocab:
        raise UserError(f"{adapter}: the adapter's tokenizer has {tokens} tokens but its base {base} has "
                        f"vocab_size {vocab}; the added tokens' embeddings exist only in the merged model; "
                        f"{USE_MERGED}")
    return write_gguf(folder, out, ftype, name=name, tokenizer_folder=adapter)
