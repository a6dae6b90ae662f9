"""The synth stage end to end against real OpenAI-compatible servers on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from doppel import pipeline
from doppel.config import load_config
from doppel.records import Example, PreferencePair, TextChunk, read_jsonl
from doppel.synth import stage
from doppel.workspace import Workspace
from tests.conftest import write_tiny_config
from tests.synth.script import teacher_script
from tests.synth.server import FakeOpenAI

SYNTH = {"questions_per_category": 3, "max_passages": 8, "answers": ["backtranslate", "grounded", "plain"],
         "guard": {"min_count": 3, "action": "drop"}}


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_sources):
    """A run folder after ingest and build (no training)."""
    folder = tmp_path_factory.mktemp("synth-run")
    path = write_tiny_config(folder, demo_sources, name="syn")
    cfg = load_config(path)
    ws = pipeline.prepare(cfg)
    pipeline.run_pipeline(cfg, ws, ["ingest", "build"])
    return path, ws


def _cfg(path, url, **synth):
    teacher = [f"teacher.base_url={url}", "teacher.api_key=sk-test", "teacher.timeout=1.5",
               "teacher.backoff=0.01", "teacher.retries=15", "teacher.concurrency=8"]
    settings = {**SYNTH, **synth}
    return load_config(path, teacher + [f"synth.{k}={json.dumps(v)}" for k, v in settings.items()])


def _fresh(ws: Workspace, name: str) -> Workspace:
    """A copy of the built run folder, so each test has its own cache."""
    import shutil

    dest = ws.root.parent / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(ws.root, dest)
    return Workspace(dest)


def test_synth_stage_writes_traceable_scored_guarded_examples_and_pairs(built, monkeypatch):
    path, base = built
    ws = _fresh(base, "clean")
    with FakeOpenAI(teacher_script) as srv:
        cfg = _cfg(path, srv.base_url)
        result = stage.run(cfg.synth, cfg.teacher, cfg.persona, cfg.seed, ws)
        sent = sum(srv.received.values())
        # A second run is answered entirely from the cache.
        again = stage.run(cfg.synth, cfg.teacher, cfg.persona, cfg.seed, ws)
        assert sum(srv.received.values()) == sent
    assert again.summary["requests_sent"] == 0 and again.summary["examples"] == result.summary["examples"]

    chunks = {c.id: c.text for c in read_jsonl(ws.data / "cpt" / "train.jsonl", TextChunk)}
    examples = read_jsonl(ws.data / "sft" / "synth.jsonl", Example)
    by_origin = {}
    for ex in examples:
        by_origin.setdefault(ex.meta["origin"], []).append(ex)
    # Back-translation: the answer is the person's passage, byte for byte.
    assert len(by_origin["backtranslate"]) == 8
    for ex in by_origin["backtranslate"]:
        assert ex.messages[-1].content == chunks[ex.meta["passage"]]
        assert ex.messages[-2].content.startswith("What would you tell us about")
        assert ex.source and ex.meta["scores"]["voice"] == 4
    # The planted over-used word is found with its rates, and its answers dropped.
    report = json.loads((ws.synth / "report.json").read_text())
    overused = {g["ngram"]: g for g in report["catchphrase_guard"]["overused"]}
    assert "friend" in overused and overused["friend"]["generated_per_1k"] > 50
    assert overused["friend"]["ratio"] >= 4
    assert "grounded" not in by_origin and "plain" not in by_origin
    assert report["dropped"]["catchphrase_overuse"] > 0
    # Rubric: answers to "absurd" questions got voice 2 and were dropped with that reason.
    assert report["dropped"]["low_voice"] >= 2
    assert report["score_histograms"]["voice"]["2"] >= 2 and report["score_histograms"]["voice"]["4"] >= 8
    # Near-duplicate questions were removed with a count.
    assert report["questions"]["near_duplicates"] >= 4
    # Identity examples use the configured name.
    ident = by_origin["identity"]
    assert any(ex.messages[-1].content.startswith("I'm Mara Quell") for ex in ident)
    assert all("Mara" in ex.messages[-1].content or "my time" in ex.messages[-1].content
               or ex.meta["kind"] in ("private", "cannot_know") for ex in ident)
    # Preference pairs: the person's voice against a generic assistant, with provenance.
    prefs = read_jsonl(ws.data / "pref" / "train.jsonl", PreferencePair)
    kinds = {p.meta["chosen_from"] for p in prefs}
    assert kinds == {"backtranslate", "real"}
    assert all(p.rejected.startswith("Great question!") and p.meta["rejected_from"] == "teacher_generic"
               for p in prefs)
    assert result.summary["cost_usd"] > 0 and result.summary["tokens"] > 0


def test_rewrite_action_removes_the_catchphrase_and_records_pairs(built):
    path, base = built
    ws = _fresh(base, "rewrite")
    with FakeOpenAI(teacher_script) as srv:
        cfg = _cfg(path, srv.base_url, guard={"min_count": 12, "max_ratio": 10, "action": "rewrite"}, answers=["plain"],
                   max_passages=2)
        stage.run(cfg.synth, cfg.teacher, cfg.persona, cfg.seed, ws)
    plain = [e for e in read_jsonl(ws.data / "sft" / "synth.jsonl", Example) if e.meta["origin"] == "plain"]
    assert plain and all("friend" not in e.messages[-1].content and e.meta["rewritten"] for e in plain)
    guard_pairs = [p for p in read_jsonl(ws.data / "pref" / "train.jsonl", PreferencePair)
                   if p.meta["rejected_from"] == "catchphrase"]
    assert len(guard_pairs) == len(plain)
    assert all("friend" in p.rejected and "neighbour" in p.chosen for p in guard_pairs)


def test_fault_injecting_server_gives_the_same_data(built):
    path, base = built
    clean, faulty = _fresh(base, "ref"), _fresh(base, "faulty")
    with FakeOpenAI(teacher_script) as srv:
        cfg = _cfg(path, srv.base_url, answers=["backtranslate", "grounded"], max_passages=4)
        stage.run(cfg.synth, cfg.teacher, cfg.persona, cfg.seed, clean)
    with FakeOpenAI(teacher_script, fault_rate=0.2, hang_seconds=3.0, seed=1) as srv:
        cfg = _cfg(path, srv.base_url, answers=["backtranslate", "grounded"], max_passages=4)
        result = stage.run(cfg.synth, cfg.teacher, cfg.persona, cfg.seed, faulty)
        assert sum(srv.faults.values()) > 0
        assert set(srv.answered.values()) == {1}
    for name in ("sft/synth.jsonl", "pref/train.jsonl"):
        assert (faulty.data / name).read_text() == (clean.data / name).read_text()
    assert not any(k.startswith(("answer_", "question_gave", "questions_gave")) for k in result.summary["dropped"])


def test_without_endpoint_only_identity_examples_are_made(built, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    path, base = built
    ws = _fresh(base, "none")
    (ws.data / "sft" / "synth.jsonl").write_text("stale\n")
    (ws.data / "pref" / "train.jsonl").parent.mkdir(parents=True, exist_ok=True)
    (ws.data / "pref" / "train.jsonl").write_text("stale\n")
    cfg = load_config(path)
    result = stage.run(cfg.synth, cfg.teacher, cfg.persona, cfg.seed, ws)
    assert result.summary["notice"] == stage.NOTICE and result.summary["identity_examples"] > 10
    examples = read_jsonl(ws.data / "sft" / "synth.jsonl", Example)  # the stale line is gone
    assert examples and all(e.meta["origin"] == "identity" for e in examples)
    assert any(e.messages[1].content == "Who are you?" and cfg.persona.name in e.messages[2].content for e in examples)
    assert not (ws.data / "pref" / "train.jsonl").exists()  # no teacher: no preference pairs
    cfg.synth.identity = False
    stage.run(cfg.synth, cfg.teacher, cfg.persona, cfg.seed, ws)
    assert read_jsonl(ws.data / "sft" / "synth.jsonl", Example) == []
