"""Where the f16 and Q8_0 GGUF logits differ from transformers, on the tiny test models.

    .venv/bin/python bench/gguf_fidelity.py [--models memoriser,lm] [--archs llama,qwen2]

Builds the models the export tests build (tests/export/models.py): `memoriser` saw eight texts
(`train_and_save`), `lm` is trained as a language model on ~100k tokens of persona text
(`train_language_model`, about 2 minutes each on one core). For each it prints:

- f16: the largest logit; f32 file vs transformers; transformers with its weights rounded to f16
  vs itself (the rounding the f16 file holds); the f16 file vs that rounded model and vs the f32
  model, with llama.cpp's attention cache in f32 and in its default f16.
- Q8_0 on 12 held-out persona paragraphs: top-1 agreement, how much Q8_0 moves the margin
  between transformers' two best tokens (mean, 99th percentile), the share of positions whose
  margin is under 0.05, and the largest margin among the disagreements.
- Q8_0 arithmetic: transformers running the file's dequantized weights, then also on activations
  rounded as llama.cpp rounds them for Q8_0 products, against llama.cpp on the file (99 tokens).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from doppel.export.gguf import write_gguf  # noqa: E402
from doppel.export.quantize import quantize  # noqa: E402
from doppel.modeling import llamacpp  # noqa: E402
from tests.conftest import SAMPLE_TEXT  # noqa: E402
from tests.export import models  # noqa: E402


def hf_logits(folder: Path, ids: list[int], f16_weights: bool = False):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    if f16_weights:  # matrices only, as the f16 file stores them; vectors (norms, biases) stay f32 there
        for param in model.parameters():
            if param.ndim >= 2:
                param.data = param.data.half().float()
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


def f16_row(folder: Path, tokenizer, tmp: Path) -> dict:
    ids = tokenizer(" ".join(models.HELDOUT), add_special_tokens=False)["input_ids"]
    ref, rounded = hf_logits(folder, ids), hf_logits(folder, ids, f16_weights=True)
    for ftype in ("f32", "f16"):
        write_gguf(folder, tmp / f"{ftype}.gguf", ftype)
    run = lambda ftype, kv_f32: llamacpp.logits(  # noqa: E731
        llamacpp.load_gguf(tmp / f"{ftype}.gguf", n_ctx=256, logits_all=True, kv_f32=kv_f32), ids)
    f16_kv32, f16_kv16 = run("f16", True), run("f16", False)
    diff = lambda a, b: float(np.abs(a - b).max())  # noqa: E731
    return {"max |logit|": float(np.abs(ref).max()), "f32 file vs HF": diff(run("f32", True), ref),
            "HF f16-rounded vs HF": diff(rounded, ref), "f16 file vs HF f16-rounded": diff(f16_kv32, rounded),
            "f16 file vs HF": diff(f16_kv32, ref), "f16 file, f16 cache, vs HF f16-rounded": diff(f16_kv16, rounded),
            "f16 file, f16 cache, vs HF": diff(f16_kv16, ref)}


def q8_row(folder: Path, tokenizer, tmp: Path) -> dict:
    from transformers import AutoModelForCausalLM

    quantize(tmp / "f16.gguf", tmp / "q8_0.gguf", "q8_0")
    llm = llamacpp.load_gguf(tmp / "q8_0.gguf", n_ctx=512, logits_all=True, kv_f32=True)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    agree = positions = 0
    shifts, margins, missed = [], [], []
    for text in models.persona_paragraphs(12345, 12):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            ref = model(torch.tensor([ids])).logits[0].numpy()
        q8 = llamacpp.logits(llm, ids)
        rows = np.arange(len(ids))
        second, first = np.argsort(ref, axis=-1)[:, -2:].T
        margin = ref[rows, first] - ref[rows, second]
        shifts += list(np.abs((q8[rows, first] - q8[rows, second]) - margin))
        same = q8.argmax(-1) == ref.argmax(-1)
        agree += int(same.sum())
        positions += len(ids)
        margins += list(margin)
        missed += list(margin[~same])
    return {"positions": positions, "Q8_0 top-1": agree / positions, "margin shift mean": float(np.mean(shifts)),
            "margin shift p99": float(np.percentile(shifts, 99)),
            "margins < 0.05": float(np.mean(np.array(margins) < 0.05)),
            "largest missed margin": float(max(missed, default=0.0))}


def _q8_activations(module, args):
    """Round a product's input as llama.cpp does for Q8_0 weights: blocks of 32, scale max/127 kept in f16."""
    x = args[0]
    blocks = x.reshape(*x.shape[:-1], x.shape[-1] // 32, 32)
    scale = blocks.abs().amax(-1, keepdim=True) / 127
    inverse = torch.where(scale > 0, 1.0 / scale, torch.zeros_like(scale))
    return ((torch.round(blocks * inverse) * scale.half().float()).reshape(x.shape),)


def q8_arithmetic_row(folder: Path, tokenizer, tmp: Path, arch: str) -> dict:
    """transformers with the Q8_0 file's dequantized weights, with and without Q8_0-rounded activations,
    against llama.cpp on the same file: how much of the difference the format's arithmetic explains."""
    import gguf
    from gguf.quants import dequantize
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    reader = gguf.GGUFReader(str(tmp / "q8_0.gguf"))
    stored = {t.name: dequantize(t.data, t.tensor_type).reshape([int(n) for n in reversed(t.shape)])
              for t in reader.tensors}
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], model.config.num_hidden_layers)
    heads = {"q_proj": model.config.num_attention_heads, "k_proj": model.config.num_key_value_heads}
    for name, param in model.named_parameters():
        weight = stored[names.get_name(name, try_suffixes=(".weight", ".bias"))]
        part = name.split(".")[-2]
        if arch == "llama" and part in heads:  # undo the writer's row interleaving of q and k
            n = heads[part]
            weight = weight.reshape(n, -1, 2, weight.shape[-1]).swapaxes(1, 2).reshape(weight.shape)
        param.data = torch.tensor(np.ascontiguousarray(weight), dtype=torch.float32)
    ids = tokenizer(" ".join(models.HELDOUT), add_special_tokens=False)["input_ids"]
    llm = llamacpp.load_gguf(tmp / "q8_0.gguf", n_ctx=256, logits_all=True, kv_f32=True)
    q8, ref = llamacpp.logits(llm, ids), hf_logits(folder, ids)
    with torch.no_grad():
        weights_only = model(torch.tensor([ids])).logits[0].numpy()
        for module in model.modules():
            if isinstance(module, torch.nn.Linear):
                module.register_forward_pre_hook(_q8_activations)
        both = model(torch.tensor([ids])).logits[0].numpy()
    diff = lambda a, b: float(np.abs(a - b).max())  # noqa: E731
    return {"Q8_0 file vs HF": diff(q8, ref), "HF on Q8_0 weights vs HF": diff(weights_only, ref),
            "Q8_0 file vs HF on Q8_0 weights and activations": diff(q8, both)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="memoriser,lm")
    parser.add_argument("--archs", default="llama,qwen2")
    args = parser.parse_args()
    from doppel.modeling.tokenizer import train_tokenizer

    tokenizer = train_tokenizer(SAMPLE_TEXT, vocab_size=400, min_frequency=1)
    builders = {"memoriser": models.train_and_save, "lm": models.train_language_model}
    for kind in args.models.split(","):
        for arch in args.archs.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                folder = builders[kind](getattr(models, f"{arch}_config")(tokenizer), tokenizer, tmp / "m")
                row = {**f16_row(folder, tokenizer, tmp), **q8_row(folder, tokenizer, tmp),
                       **q8_arithmetic_row(folder, tokenizer, tmp, arch)}
            print(f"{kind} {arch}: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    main()
