"""End-to-end `doppel run` on a tiny config: every stage, skipping, overrides, kill and resume."""

import json
import signal
import subprocess
import sys
import time

from tests.conftest import doppel, write_tiny_config

STAGES = ["ingest", "build", "synth", "pretrain", "cpt", "sft", "eval", "export", "eval_gguf", "report"]


def finished(run_dir):
    m = json.loads((run_dir / "manifest.json").read_text())["stages"]
    return {k: v.get("finished") for k, v in m.items()}


def test_whole_run_writes_every_artifact(tiny_run):
    config, run_dir, out = tiny_run
    manifest = json.loads((run_dir / "manifest.json").read_text())["stages"]
    assert list(manifest) == STAGES and all(s["status"] == "done" for s in manifest.values())
    for rel in ["config.resolved.yaml", "corpus/documents.jsonl", "corpus/ingest_report.json",
                "data/cpt/train.jsonl", "data/sft/train.jsonl", "data/heldout/text.jsonl",
                "data/heldout/dialogues.jsonl", "data/stats.json", "tokenizer/tokenizer.json",
                "models/pretrain/model/config.json", "models/cpt/model/config.json",
                "models/sft/adapter/adapter_config.json", "eval/results.json", "eval/samples/sft.jsonl",
                "eval/gguf.json", "eval/report.html",
                "export/merged/config.json"]:
        assert (run_dir / rel).exists(), rel
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    assert list(results["models"]) == ["base", "prompted", "cpt", "sft"]  # the GGUF rows: eval/gguf.json
    for row in (results["models"][m] for m in ("base", "cpt", "sft")):  # prompted = base weights
        assert row["heldout_perplexity"] > 1 and row["heldout_answer_perplexity"] > 1
    assert "Persona evaluation" in out
    report = json.loads((run_dir / "corpus" / "ingest_report.json").read_text())
    assert report["files_seen"] == len(report["files"]) and all(f["status"] == "kept" for f in report["files"])
    assert any(s["is_persona"] for s in report["speakers"].values())


def test_second_run_skips_and_override_reruns_only_downstream(tiny_run):
    config, run_dir, _ = tiny_run
    before = finished(run_dir)
    again = doppel("run", config)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("up to date, skipped") == len(STAGES)
    assert finished(run_dir) == before

    changed = doppel("run", config, "--set", "train.sft.learning_rate=4e-3")
    assert changed.returncode == 0, changed.stderr[-2000:]
    after = finished(run_dir)
    assert [s for s in STAGES if after[s] != before[s]] == ["sft", "eval", "export", "eval_gguf", "report"]
    resolved = (run_dir / "config.resolved.yaml").read_text()
    assert "learning_rate: 0.004" in resolved
    # back to the file's settings for the other tests sharing this run
    assert doppel("run", config).returncode == 0


def test_kill_during_training_then_rerun_resumes(tmp_path, demo_sources):
    train = {"pretrain": {"max_steps": 400, "batch_size": 4, "seq_len": 64, "save_steps": 10, "logging_steps": 50},
             "cpt": {"max_steps": 4, "batch_size": 4, "seq_len": 64},
             "sft": {"max_steps": 4, "batch_size": 4, "seq_len": 192}}
    config = write_tiny_config(tmp_path, demo_sources, name="killed", train=train)
    run_dir = tmp_path / "runs" / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "doppel", "run", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = run_dir / "models" / "pretrain" / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and not list(ckpts.glob("checkpoint-*/trainer_state.json")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    manifest = json.loads((run_dir / "manifest.json").read_text())["stages"]
    assert manifest["pretrain"]["status"] == "running"
    assert not (run_dir / "models" / "pretrain" / "model").exists()  # no half-finished model
    before = finished(run_dir)

    rerun = doppel("run", config)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after = json.loads((run_dir / "manifest.json").read_text())["stages"]
    assert after["ingest"]["finished"] == before["ingest"] and after["build"]["finished"] == before["build"]
    resumed = after["pretrain"]["summary"]["resumed_from_checkpoint"]
    assert resumed and int(resumed.split("-")[1]) >= 10
    assert after["pretrain"]["summary"]["steps"] == 400
    assert all(after[s]["status"] == "done" for s in STAGES)
