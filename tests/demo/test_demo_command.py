"""`doppel demo` writes its sources and an editable config, then runs the pipeline on them."""

import json

from doppel.config import load_config
from doppel.demo import DEMO_PERSONA
from doppel.demo.config import prepare_demo
from tests.conftest import doppel


def test_prepare_demo_writes_a_valid_config_matching_the_persona(tmp_path):
    path = prepare_demo(tmp_path / "demo", seed=1, scale=0.05)
    cfg = load_config(path)
    assert cfg.persona.name == DEMO_PERSONA.name and tuple(cfg.persona.catchphrases) == DEMO_PERSONA.catchphrases
    assert cfg.run_dir == (tmp_path / "demo").resolve() and cfg.seed == 1
    assert all(s.path.is_dir() and any(s.path.rglob("*.srt")) for s in [*cfg.sources, *cfg.background])
    # the default demo fine-tunes the bundled real model; no pretraining, no CPT
    assert cfg.model.base == "smollm2-135m-instruct" and not cfg.train.cpt.enabled
    assert cfg.train.sft.method == "lora" and cfg.export.pick and "q8_0" in cfg.export.gguf
    scratch = load_config(prepare_demo(tmp_path / "scratch", seed=1, scale=0.05, from_scratch=True))
    assert scratch.model.base is None and scratch.train.pretrain.enabled and scratch.train.cpt.enabled


def test_from_scratch_demo_end_to_end_with_small_overrides(tmp_path):
    out = tmp_path / "demo"
    small = ["model.preset=tiny", "model.tokenizer.vocab_size=512", "data.chunk_tokens=64",
             "train.pretrain.max_steps=6", "train.pretrain.seq_len=64", "train.cpt.max_steps=4",
             "train.cpt.seq_len=64", "train.sft.max_steps=4", "eval.questions=1",
             "eval.generation.max_new_tokens=8"]
    args = ["demo", "--from-scratch", "--out", out, "--scale", "0.05"]
    for s in small:
        args += ["--set", s]
    proc = doppel(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "doppel chat" in proc.stdout and "held-out perplexity:" in proc.stdout
    results = json.loads((out / "eval" / "results.json").read_text())
    trained = {m for m, row in results["models"].items() if row.get("backend") != "gguf"}
    assert trained == {"base", "prompted", "cpt", "sft"}  # plus a row per exported GGUF (eval_gguf)
    assert (out / "export" / "merged" / "model.safetensors").exists()
