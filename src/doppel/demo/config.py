"""The demo run's config, written next to the generated sources so users can edit and rerun it."""

from __future__ import annotations

from pathlib import Path

import yaml

from doppel.workspace import atomic_write_text

# The from-scratch demo (doppel demo --from-scratch): a small base pretrained on the background
# corpus, then CPT and SFT; sized to finish in a few minutes on 2 CPU cores.
SCRATCH_TRAINING = {
    "pretrain": {"epochs": 1, "learning_rate": 3e-3, "batch_size": 16, "seq_len": 256,
                 "save_steps": 60, "logging_steps": 20},
    "cpt": {"method": "full", "epochs": 5, "learning_rate": 1.5e-3, "batch_size": 16, "seq_len": 256,
            "save_steps": 60, "logging_steps": 20},
    "sft": {"method": "lora", "epochs": 4, "learning_rate": 3e-3, "batch_size": 8, "seq_len": 256,
            "lora": {"r": 16, "alpha": 32}, "save_steps": 100, "logging_steps": 20},
}


# The default demo: LoRA SFT of the bundled SmolLM2-135M-Instruct (no pretraining). CPT before
# SFT is off: measured, a 20-step LoRA CPT first improved perplexity and voice by a few per cent
# without hurting identity or fluency, at about four more minutes on 2 CPU cores (BENCHMARKS.md);
# --set train.cpt.enabled=true runs it.
BUNDLED_BASE = "smollm2-135m-instruct"
REAL_TRAINING = {
    "cpt": {"enabled": False, "method": "lora", "epochs": 1, "learning_rate": 3e-4, "batch_size": 8,
            "seq_len": 256, "lora": {"r": 16, "alpha": 32}, "save_steps": 100, "logging_steps": 10},
    # LoRA on the last 6 of its 30 layers: backpropagation stops there, and from the second epoch
    # on the 24 frozen layers below are not run again (train.sft.frozen_cache_mb), so a step costs
    # far less on a CPU than adapting every layer. Three epochs at a high LoRA learning rate: one at
    # 1e-3 left identity at 0.27 and no catch-phrase; two used her catch-phrases at 0.6x her rate
    # on 110 answers, three at 0.75x, for ~40 s more (BENCHMARKS.md).
    "sft": {"method": "lora", "epochs": 3, "learning_rate": 2e-3, "batch_size": 8, "seq_len": 256,
            "lora": {"r": 16, "alpha": 32, "last_layers": 6}, "save_steps": 100, "logging_steps": 5},
}


SCRATCH_EVAL = {"questions": 40, "max_rounds": 3, "batch_size": 16}
# On 2 CPU cores every model reads ~400 tokens/s, so the evaluation's time is the tokens it reads
# and writes: one round of 24 held-out questions (60 new tokens at most), 24 classifier
# questions (with 16 the classifier's AUC fell to 0.94); perplexities over 16 held-out texts and
# 16 dialogues (of ~68 and ~55); only the GGUF file the Modelfile uses as a rung (the parity gate
# measures both); the local judge on 3 questions' answers.
REAL_EVAL = {"questions": 24, "max_rounds": 1, "batch_size": 32, "classifier_questions": 24,
             "perplexity_texts": 16, "perplexity_dialogues": 16, "gguf_files": "chosen",
             "generation": {"max_new_tokens": 60}, "judge": {"questions": 3, "faithfulness": False}}
# The teacher is the bundled model itself, served by llama.cpp on a loopback port while synth and
# the judge run (no endpoint, no key, no cost). A 135M model is a weak teacher and a weaker judge:
# the demo asks it for little (back-translated questions for 12 of Mara's passages, 2 questions in
# each of 4 categories with answers grounded in her passages, a score for each), and the filters
# and scores decide what of it is kept. identity_copies: the identity examples eight times (seven
# without a system message) among ~320 dialogues: with four, identity fell to 0.73-0.82 once the
# teacher's pairs were added; with five and three epochs the 11 probes, each asked 4 times, were
# answered in character 0.91 of the time, with eight 0.98 (BENCHMARKS.md, session 8).
REAL_TEACHER = {"local": BUNDLED_BASE, "local_quant": "q8_0", "local_parallel": 2, "local_context": 2048}
REAL_SYNTH = {"identity_copies": 8, "questions_per_category": 2, "questions_per_passage": 0, "max_passages": 12,
              "answers": ["backtranslate", "grounded"], "retrieve_k": 2, "max_tokens": 120, "preferences": False}
# The parity gate on 8 held-out texts (~2,000 positions) and 4 greedy answers per file.
REAL_EXPORT = {"gguf": ["f16", "q8_0"], "pick": True, "parity": {"texts": 8}}


def demo_config(seed: int, from_scratch: bool = False) -> dict:
    from doppel.demo import DEMO_PERSONA as P

    model = {"preset": "small", "tokenizer": {"vocab_size": 4096}} if from_scratch else {"base": BUNDLED_BASE}
    return {
        "name": "demo",
        "run_dir": ".",
        "seed": seed,
        "persona": {"name": P.name, "aliases": list(P.aliases), "description": P.description,
                    "catchphrases": list(P.catchphrases), "fictional": True},
        "sources": [{"path": "sources/persona"}],
        "background": [{"path": "sources/background"}],
        "model": model,
        "data": {"chunk_tokens": 256, "heldout_fraction": 0.15},
        "train": SCRATCH_TRAINING if from_scratch else REAL_TRAINING,
        # 40 questions in up to 3 sampling rounds: ~5,000 words per model for function-word Delta.
        "eval": SCRATCH_EVAL if from_scratch else REAL_EVAL,
        **({} if from_scratch else {"teacher": REAL_TEACHER, "synth": REAL_SYNTH}),
        "export": {} if from_scratch else REAL_EXPORT,
    }


def prepare_demo(out: Path, seed: int = 0, scale: float = 1.0, from_scratch: bool = False) -> Path:
    """Generate the demo sources under `out/sources` and write `out/demo.yaml`; return its path."""
    from doppel.demo import generate_demo_sources

    out = Path(out)
    generate_demo_sources(out / "sources", seed=seed, scale=scale)
    path = out / "demo.yaml"
    header = ("# Written by 'doppel demo'. Edit and rerun with: doppel run " + str(path) + "\n")
    atomic_write_text(path, header + yaml.safe_dump(demo_config(seed, from_scratch), sort_keys=False, allow_unicode=True))
    return path
