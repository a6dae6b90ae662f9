"""The parity gate passes faithful GGUFs, fails a deliberately broken one with its numbers, and picks."""

from __future__ import annotations

import torch

from doppel.config import ParitySettings
from doppel.export.gguf import write_gguf
from doppel.export.parity import pick, run_gate
from doppel.modeling.loading import ModelSource, load_model
from tests.export.models import HELDOUT, QUESTIONS, SYSTEM


def broken_copy(folder, out):
    """The same model with noise on every matrix: what a bad quantization does, exaggerated."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim == 2:
                p.add_(torch.randn_like(p) * p.std() * 0.5)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(folder).save_pretrained(out)
    return out


def test_gate_flags_a_broken_quant_and_picks_the_smallest_passing(llama_dir, llama_ggufs, tmp_path):
    broken = tmp_path / "broken.gguf"
    write_gguf(broken_copy(llama_dir, tmp_path / "broken-hf"), broken, "f16")
    files = {"f16": str(llama_ggufs["f16"]), "q8_0": str(llama_ggufs["q8_0"]), "broken": str(broken)}
    prompts = [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}] for q in QUESTIONS[:2]]
    model, tok = load_model(ModelSource("m", str(llama_dir)), dtype="float32")
    likeness = {"calls": 0}

    def scorer(answers):  # a stand-in voice score: share of answers that start like the person's
        likeness["calls"] += 1
        return sum(a.startswith(("Here's", "Mark")) for a in answers) / len(answers) or None

    cfg = ParitySettings(max_new_tokens=40, min_likeness_ratio=0.8)
    result = run_gate(model, tok, files, HELDOUT, prompts, cfg, scorer)
    rows = result["files"]
    assert result["reference"]["stops"] == 2  # the HF model ends both answers with <|im_end|>
    assert rows["f16"]["passed"] and rows["q8_0"]["passed"], (rows["f16"]["failures"], rows["q8_0"]["failures"])
    assert rows["f16"]["tokenization_equal"] and rows["f16"]["chat_template_equal"]
    assert rows["f16"]["missed_stops"] == 0 and rows["q8_0"]["stops"] == 2
    assert rows["f16"]["ppl_ratio"] < 1.01 and rows["f16"]["mean_kl"] < 1e-3

    bad = rows["broken"]
    assert not bad["passed"]
    assert any(f.startswith("mean KL") for f in bad["failures"]), bad["failures"]
    assert bad["mean_kl"] > cfg.max_kl and bad["top1_agreement"] < rows["q8_0"]["top1_agreement"]
    assert likeness["calls"] == 4  # the reference and each of the three files

    sizes = {k: __import__("os").path.getsize(v) for k, v in files.items()}
    assert pick(rows, sizes) == "q8_0"
    assert pick({k: {**r, "passed": False} for k, r in rows.items()}, sizes) is None
