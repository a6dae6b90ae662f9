"""`doppel synth`, `doppel estimate` and `doppel build --check` as a user runs them."""

from __future__ import annotations

import json

import pytest

from tests.conftest import doppel, write_tiny_config
from tests.synth.script import teacher_script
from tests.synth.server import FakeOpenAI


@pytest.fixture(scope="module")
def config(tmp_path_factory, demo_sources):
    folder = tmp_path_factory.mktemp("synth-cli")
    path = write_tiny_config(folder, demo_sources, name="cli",
                             synth={"questions_per_category": 2, "max_passages": 3},
                             data={"chunk_tokens": 64, "chunk_sweep": [32, 256], "chunk_overlap": 8})
    proc = doppel("run", path, "--only", "ingest", "--only", "build")
    assert proc.returncode == 0, proc.stderr
    return path, folder / "runs" / "cli"


def test_synth_command_uses_the_environment_endpoint_and_hides_the_key(config, monkeypatch):
    path, run = config
    with FakeOpenAI(teacher_script) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-from-env")
        proc = doppel("synth", path)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        sent = sum(srv.received.values())
        assert sent > 0
        again = doppel("synth", path)  # up to date: skipped, nothing sent
        assert "synth: up to date" in again.stdout and sum(srv.received.values()) == sent
    assert "examples:" in proc.stdout and "cost_usd:" in proc.stdout
    assert (run / "data" / "sft" / "synth.jsonl").stat().st_size > 0
    assert (run / "data" / "pref" / "train.jsonl").stat().st_size > 0
    for text in (proc.stdout, proc.stderr, (run / "config.resolved.yaml").read_text(),
                 (run / "manifest.json").read_text(), (run / "synth" / "report.json").read_text()):
        assert "sk-secret-from-env" not in text


def test_without_endpoint_synth_prints_a_one_line_notice(config, monkeypatch):
    path, run = config
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    proc = doppel("run", path, "--only", "synth")
    assert proc.returncode == 0, proc.stderr
    notice = [line for line in proc.stdout.splitlines() if "no teacher endpoint" in line]
    assert len(notice) == 1
    lines = (run / "data" / "sft" / "synth.jsonl").read_text().splitlines()
    assert lines and all('"origin": "identity"' in line or '"origin":"identity"' in line for line in lines)
    assert not (run / "data" / "pref" / "train.jsonl").exists()


def test_estimate_json_and_table(config):
    path, run = config
    proc = doppel("estimate", path, "--json")
    assert proc.returncode == 0, proc.stderr
    est = json.loads(proc.stdout)
    assert est["corpus_exact"] and est["corpus"]["persona"]["tokens_exact"]
    assert est["training"]["cpt"]["tokens_per_epoch"] > 0
    assert json.loads((run / "estimate.json").read_text()) == est
    table = doppel("estimate", path)
    assert "training on H100" in table.stdout and "teacher (gpt-4o-mini)" in table.stdout


def test_build_check_passes_then_fails_on_a_broken_dataset(config):
    path, run = config
    ok = doppel("build", path, "--check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "no errors" in ok.stdout
    report = json.loads((run / "data" / "check.json").read_text())
    assert report["sft/train.jsonl"]["records"] > 0 and report["cpt/train.jsonl"]["tokens"] > 0
    stats = json.loads((run / "data" / "stats.json").read_text())["cpt"]
    assert 0 < stats["packing"]["real_token_fraction"] <= 1 and stats["chunk_overlap"] == 8
    sweep = stats["sweep"]
    assert sweep["32"]["chunks"] > sweep["256"]["chunks"] > 0 and sweep["256"]["mean_chars"] > sweep["32"]["mean_chars"]
    bad = run / "data" / "sft" / "synth.jsonl"
    bad.write_text(json.dumps({"id": "x", "messages": [{"role": "user", "content": "only a question"}]}) + "\n")
    try:
        proc = doppel("build", path, "--check")
    finally:
        bad.unlink()
    assert proc.returncode == 1
    assert "missing_assistant_turn" in proc.stdout
