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


def plan_of(stdout: str) -> dict[str, str]:
    """`doppel run --plan` output as {stage: the rest of its line}."""
    rows = [line.split(None, 1) for line in stdout.splitlines() if line.startswith("  ") and not line.startswith("  -")]
    return {name: rest for name, rest in rows}


def test_plan_says_what_would_run_and_why_and_runs_nothing(tiny_run):
    config, run_dir, _ = tiny_run
    manifest = (run_dir / "manifest.json").read_text()
    resolved = (run_dir / "config.resolved.yaml").read_text()

    same = doppel("run", config, "--plan")
    assert same.returncode == 0, same.stderr[-2000:]
    rows = plan_of(same.stdout)
    assert list(rows) == ["ingest", "build", "synth", "pretrain", "cpt", "sft", "pref", "reward", "rl", "eval",
                          "export", "eval_gguf", "report"]
    assert all(rows[s].startswith("skip (up to date)") for s in STAGES), rows
    assert rows["pref"] == "disabled: train.pref.enabled is false"
    assert "everything the stages to run need is here" not in same.stdout  # nothing would run

    changed = doppel("run", config, "--plan", "--set", "train.sft.learning_rate=4e-3")
    assert changed.returncode == 0, changed.stderr[-2000:]
    rows = plan_of(changed.stdout)
    assert [s for s in STAGES if rows[s].startswith("run")] == ["sft", "eval", "export", "eval_gguf", "report"]
    assert rows["sft"] == "run: changed: train.sft.learning_rate  [from cpt]"
    assert rows["eval"] == "run: sft runs first  [models: base, cpt, sft]"
    assert rows["export"] == "run: sft runs first; eval runs first  [from sft]"
    assert rows["cpt"] == "skip (up to date)  [from base]"
    assert "everything the stages to run need is here" in changed.stdout

    # Switching off the model a stage started from reruns it on the one before.
    rows = plan_of(doppel("run", config, "--plan", "--set", "train.cpt.enabled=false").stdout)
    assert rows["cpt"] == "disabled: train.cpt.enabled is false"
    assert rows["sft"] == "run: cpt is off now  [from base]"
    assert rows["eval"] == "run: cpt is off now; sft runs first  [models: base, sft]"

    only = doppel("run", config, "--plan", "--only", "export", "--force")
    assert plan_of(only.stdout) == {"export": "run: --force  [from sft]"}
    # The plan wrote nothing: not the manifest, not the resolved config.
    assert (run_dir / "manifest.json").read_text() == manifest
    assert (run_dir / "config.resolved.yaml").read_text() == resolved


def test_a_qlora_run_without_cuda_fails_before_any_stage(tmp_path, demo_sources):
    from tests.test_cli import assert_user_error

    config = write_tiny_config(tmp_path, demo_sources, name="q", train={"sft": {"method": "qlora"}})
    run_dir = tmp_path / "runs" / "q"
    started = time.time()
    proc = doppel("run", config)
    assert_user_error(proc, "no stage has run", "train.sft.method: qlora needs a CUDA GPU",
                      "or set train.sft.method: lora", "(for sft)")
    assert time.time() - started < 120
    manifest = run_dir / "manifest.json"
    assert not manifest.exists() or json.loads(manifest.read_text())["stages"] == {}
    assert not (run_dir / "corpus" / "documents.jsonl").exists()

    plan = doppel("run", config, "--plan")
    assert plan.returncode == 0, plan.stderr[-2000:]
    assert "it would stop before the first stage" in plan.stdout
    assert "train.sft.method: qlora needs a CUDA GPU" in plan.stdout
    assert plan_of(plan.stdout)["ingest"] == "run: it never ran"


def test_each_stage_starts_from_the_newest_enabled_earlier_model(tmp_path, demo_sources):
    import pytest

    from doppel import pipeline
    from doppel.config import load_config
    from doppel.errors import UserError
    from doppel.workspace import Workspace

    config = write_tiny_config(tmp_path, demo_sources, name="which")

    def starts(*overrides: str) -> dict[str, str | None]:
        cfg = load_config(config, list(overrides))
        found = {s: pipeline.GRAPH.start_stage(cfg, s) for s in ("cpt", "sft", "pref", "reward", "rl", "export")}
        return {**found, "eval": pipeline.GRAPH.ladder(cfg, "eval")}

    assert starts() == {"cpt": None, "sft": "cpt", "pref": "sft", "reward": "sft", "rl": "sft", "export": "sft",
                        "eval": ["cpt", "sft"]}
    assert starts("train.cpt.enabled=false") == {"cpt": None, "sft": None, "pref": "sft", "reward": "sft",
                                                 "rl": "sft", "export": "sft", "eval": ["sft"]}
    assert starts("train.sft.enabled=false", "train.pref.enabled=true")["pref"] == "cpt"
    on = starts("train.pref.enabled=true", "train.reward.enabled=true", "train.rl.enabled=true")
    assert (on["pref"], on["reward"], on["rl"], on["export"]) == ("sft", "sft", "sft", "rl")
    assert on["eval"] == ["cpt", "sft", "pref", "rl"]
    assert starts("train.pref.enabled=true")["export"] == "pref"
    assert starts("train.cpt.enabled=false", "train.sft.enabled=false")["export"] is None  # the base model

    # The model is read from the stage that made it; an enabled stage that never trained is an error.
    cfg, ws = load_config(config), Workspace(tmp_path / "runs" / "which").create()
    with pytest.raises(UserError, match=r"export starts from the sft model, which is missing.*--only sft"):
        pipeline.start_model(cfg, ws, "export")
    (ws.model_dir("sft") / "model").mkdir(parents=True)
    (ws.model_dir("sft") / "meta.json").write_text(json.dumps({"type": "full", "path": "model", "base": None}))
    assert pipeline.start_model(cfg, ws, "export").path == str(ws.model_dir("sft") / "model")


def test_needs_of_the_stages_to_run_are_checked_together(tmp_path, demo_sources):
    from doppel import pipeline
    from doppel.config import load_config
    from doppel.workspace import Workspace

    config = write_tiny_config(tmp_path, demo_sources, name="needs")
    ws = Workspace(tmp_path / "runs" / "needs")
    steps, problems = pipeline.plan_run(load_config(config), ws, list(pipeline.STAGE_NAMES))
    assert [s.action for s in steps if s.name in STAGES] == ["run"] * len(STAGES) and problems == []

    # No teacher endpoint (the tests remove it): synth makes no preference pairs, so reward cannot train;
    # RL with a reward-model weight needs the reward stage on.
    cfg = load_config(config, ["train.reward.enabled=true", "train.rl.enabled=true"])
    problems = pipeline.plan_run(cfg, ws, list(pipeline.STAGE_NAMES))[1]
    assert len(problems) == 1 and "train.reward.enabled: true needs preference pairs" in problems[0]
    assert "no preference pairs" in problems[0] and "or set train.reward.enabled: false (for reward)" in problems[0]
    cfg = load_config(config, ["train.rl.enabled=true"])
    assert pipeline.plan_run(cfg, ws, ["rl"])[1] == [
        "train.rl.reward_model_weight > 0 needs the reward model: set train.reward.enabled: true (it trains on "
        "the preference pairs), or set train.rl.reward_model_weight: 0 to reward person-likeness alone (for rl)",
        "train.sft.enabled needs the sft model, which rl starts from and is not trained yet: run 'doppel run "
        "CONFIG' (or '--only sft') first, or set train.sft.enabled: false (for rl)"]
    # Pairs already on disk, with synth not run again, are enough.
    (ws.data / "pref").mkdir(parents=True)
    (ws.data / "pref" / "train.jsonl").write_text('{"id": "p"}\n')
    cfg = load_config(config, ["train.reward.enabled=true"])
    assert pipeline.plan_run(cfg, ws, ["reward"])[1] == [
        "train.sft.enabled needs the sft model, which reward starts from and is not trained yet: run 'doppel run "
        "CONFIG' (or '--only sft') first, or set train.sft.enabled: false (for reward)"]
