"""Atomic writes and the manifest's up-to-date checks."""

import os

import pytest

from doppel.workspace import StageResult, Workspace, atomic_dir, atomic_write_text, fingerprint


def test_atomic_dir_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("one")
    assert (target / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("killed")
    assert (target / "a.txt").read_text() == "one"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_write_leaves_no_temporary(tmp_path):
    atomic_write_text(tmp_path / "f.json", "{}")
    assert os.listdir(tmp_path) == ["f.json"]


def test_fingerprint_follows_content(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("1")
    first = fingerprint([tmp_path / "d"])
    (tmp_path / "d" / "x").write_text("2")
    assert fingerprint([tmp_path / "d"]) != first
    (tmp_path / "d" / "x").write_text("1")
    assert fingerprint([tmp_path / "d"]) == first


def test_manifest_current_only_after_success_with_same_keys(tmp_path):
    ws = Workspace(tmp_path / "run").create()
    out = ws.data / "x.jsonl"
    started = ws.begin("build", "cfg1", "in1")
    assert not ws.is_current("build", "cfg1", "in1")  # running is not done
    atomic_write_text(out, "x\n")
    ws.finish("build", started, StageResult({"n": 1}, [out]))
    assert ws.is_current("build", "cfg1", "in1")
    assert not ws.is_current("build", "cfg2", "in1")
    assert not ws.is_current("build", "cfg1", "in2")
    entry = ws.stage_entry("build")
    assert entry["status"] == "done" and entry["summary"] == {"n": 1} and "data/x.jsonl" in entry["outputs"]
    out.unlink()
    assert not ws.is_current("build", "cfg1", "in1")  # outputs gone → rerun
