"""`doppel export RUN_DIR --gguf … --pick` on a finished run: files, parity, Modelfile, card, chat."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import doppel


def test_export_command_writes_checked_ggufs_modelfile_and_card(tiny_run, tmp_path):
    _, source_run, _ = tiny_run
    run = tmp_path / "run"
    shutil.copytree(source_run, run)  # other tests use the shared run as it is

    proc = doppel("export", run, "--gguf", "f16,q8_0", "--pick", "--force", "--set", "export.lora_gguf=true")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    export = run / "export"
    parity = json.loads((export / "parity.json").read_text())
    assert set(parity["files"]) == {"f16", "q8_0"}
    for kind, row in parity["files"].items():
        assert row["tokenization_equal"] and row["chat_template_equal"], (kind, row)
        assert {"ppl_ratio", "mean_kl", "top1_agreement", "likeness_ratio", "passed", "failures"} <= set(row)
        assert (export / parity["file_names"][kind]).exists()
    assert parity["files"]["f16"]["passed"], parity["files"]["f16"]["failures"]
    assert parity["likeness"].startswith("measured"), parity["likeness"]
    # --pick: the smallest passing file.
    passing = [k for k, r in parity["files"].items() if r["passed"]]
    assert parity["chosen"] == min(passing, key=lambda k: parity["sizes"][k])

    modelfile = (export / "Modelfile").read_text()
    assert f"FROM ./{parity['file_names'][parity['chosen']]}" in modelfile
    assert 'PARAMETER stop "<|im_end|>"' in modelfile
    assert 'TEMPLATE """{{- range .Messages }}' in modelfile and "SYSTEM \"\"\"You are Mara Quell." in modelfile
    card = (export / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: transformers" in card
    assert "imitates Mara Quell, a fictional persona (made up, as its config says)" in card
    assert "must not be presented" in card
    assert "| `tiny-f16.gguf`" in card or "| `run-f16.gguf`" in card
    assert (export / "adapter" / "adapter_config.json").exists()  # the adapter bundle is kept

    # The SFT LoRA alone as a GGUF adapter on the CPT model's GGUF: checked by the same gate, kept apart
    # from the files the Modelfile and the GGUF eval rungs use.
    lora = parity["lora_adapter"]
    assert lora["passed"], lora["failures"]
    assert lora["tokenization_equal"] and lora["chat_template_equal"] and lora["missed_stops"] == 0
    assert lora["top1_agreement"] > 0.99 and lora["mean_kl"] < 1e-3, lora
    assert (export / lora["base_file"]).exists() and (export / lora["adapter_file"]).exists()
    assert lora["adapter_file"] not in parity["file_names"].values()
    lora_modelfile = (export / "Modelfile.lora").read_text()
    assert f"FROM ./{lora['base_file']}\nADAPTER ./{lora['adapter_file']}\n" in lora_modelfile
    assert f"--lora {lora['adapter_file']}" in card

    chat = doppel("chat", run, "--backend", "gguf", "--max-new-tokens", "8", input="Tell me about tides\n/exit\n")
    assert chat.returncode == 0, chat.stderr[-2000:]
    assert "(gguf)" in chat.stdout and "Mara> " in chat.stdout

    none = doppel("export", run, "--gguf", "none", "--force", "--set", "export.lora_gguf=false")
    assert none.returncode == 0, none.stderr[-2000:]
    assert not list(export.glob("*.gguf")) and not (export / "Modelfile").exists()
    assert not (export / "Modelfile.lora").exists()


def test_the_gate_scores_with_the_eval_stages_classifier(tiny_run, tmp_path):
    from doppel.errors import UserError
    from doppel.export.likeness import likeness_scorer
    from doppel.workspace import Workspace

    _, run_dir, _ = tiny_run
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    scorer, note = likeness_scorer(Workspace(run_dir))
    assert note.startswith("measured: the eval stage's classifier"), note
    for label in ("base", "sft"):  # the ladder's person-likeness of the same answers, exactly
        answers = [json.loads(x)["answer"] for x in (run_dir / "eval" / "samples" / f"{label}.jsonl")
                   .read_text().splitlines()]
        assert scorer(answers) == results["models"][label]["person_likeness"], label

    bare = tmp_path / "bare"
    bare.mkdir()
    none, why = likeness_scorer(Workspace(bare))
    assert none is None and "has not run" in why  # no eval stage, no classifier: not measured, said so
    shutil.copy(run_dir / "manifest.json", bare / "manifest.json")  # the eval stage ran, its classifier is gone
    with pytest.raises(UserError, match=r"eval/likeness/classifier\.json is missing.*--only eval --force"):
        likeness_scorer(Workspace(bare))
