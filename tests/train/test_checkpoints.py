"""Choosing the checkpoint to resume from, with the resume choice passed in (auto, require, restart)."""

from __future__ import annotations

import json

import pytest

from doppel.errors import UserError
from doppel.train.checkpoints import checkpoint_dir
from doppel.train.env import TrainEnv


def leave(stage_dir, run_key: str, complete: list[int], cut_short: list[int] = ()) -> None:
    """Checkpoints as an interrupted run of `run_key` leaves them (a kill cuts the last one short)."""
    ckpt = stage_dir / "checkpoints"
    ckpt.mkdir(parents=True)
    (ckpt / "doppel-run.json").write_text(json.dumps({"run_key": run_key}))
    for step in complete:
        (ckpt / f"checkpoint-{step}").mkdir()
        (ckpt / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    for step in cut_short:
        (ckpt / f"checkpoint-{step}").mkdir()


def test_auto_resumes_the_last_complete_checkpoint_and_drops_one_cut_short(tmp_path):
    stage = tmp_path / "sft"
    leave(stage, "k1", [4, 12, 8], cut_short=[16])
    ckpt, last = checkpoint_dir(stage, "k1", "auto")
    assert last == str(ckpt / "checkpoint-12")
    assert sorted(p.name for p in ckpt.glob("checkpoint-*")) == ["checkpoint-12", "checkpoint-4", "checkpoint-8"]
    # require resumes the same one; restart starts afresh and keeps the run key.
    assert checkpoint_dir(stage, "k1", "require")[1] == last
    ckpt, last = checkpoint_dir(stage, "k1", "restart")
    assert last is None and not list(ckpt.glob("checkpoint-*"))
    assert json.loads((ckpt / "doppel-run.json").read_text()) == {"run_key": "k1"}


def test_other_settings_clear_the_checkpoints_unless_resuming_is_required(tmp_path):
    stage = tmp_path / "cpt"
    leave(stage, "old", [4])
    with pytest.raises(UserError, match="cannot resume stage 'cpt': its checkpoints were made with other"):
        checkpoint_dir(stage, "new", "require")
    assert (stage / "checkpoints" / "checkpoint-4").exists()  # a refused resume deletes nothing
    ckpt, last = checkpoint_dir(stage, "new", "auto")
    assert last is None and not list(ckpt.glob("checkpoint-*"))
    with pytest.raises(UserError, match="no complete checkpoint in .*Run without --resume"):
        checkpoint_dir(stage, "new", "require")
    with pytest.raises(UserError, match="it has no checkpoints to resume from"):
        checkpoint_dir(tmp_path / "rl", "new", "require")


def test_an_unknown_resume_choice_is_refused_where_it_is_made():
    with pytest.raises(ValueError, match="resume must be one of"):
        TrainEnv("cpu", False, 0, resume="resume")
    assert TrainEnv("cpu", False, 0).resume == "auto"


def test_the_pipeline_passes_the_choice_to_each_training_stage_and_require_to_the_first_that_runs(
        tmp_path, monkeypatch):
    from doppel import pipeline
    from doppel.config import Config
    from doppel.train import cpt, sft
    from doppel.workspace import StageResult, Workspace

    seen: list[tuple[str, str]] = []

    def fake(stage: str):
        def run(cfg, base, env, ws, run_key, *args, **kwargs):
            seen.append((stage, env.resume))
            meta = ws.model_dir(stage) / "meta.json"  # what the next stage reads its model from
            meta.parent.mkdir(parents=True, exist_ok=True)
            meta.write_text(json.dumps({"type": "full", "path": "model"}))
            return StageResult({}, [meta])
        return run

    monkeypatch.setattr(cpt, "run", fake("cpt"))
    monkeypatch.setattr(sft, "run", fake("sft"))

    def config(sft_rate: float) -> Config:
        return Config.model_validate({
            "name": "r", "persona": {"name": "Ann"}, "sources": [{"path": "s"}], "model": {"base": "some/base"},
            "synth": {"enabled": False},
            "train": {"device": "cpu", "cpt": {"enabled": True}, "sft": {"learning_rate": sft_rate}}})

    ws = Workspace(tmp_path / "run").create()
    pipeline.run_pipeline(config(1e-4), ws, ["cpt", "sft"], resume="require")
    assert seen == [("cpt", "require"), ("sft", "auto")]
    pipeline.run_pipeline(config(1e-4), ws, ["cpt", "sft"], force=True, resume="restart")
    assert seen[2:] == [("cpt", "restart"), ("sft", "restart")]
    # An up-to-date stage is skipped, so the first one that does run is the one that must resume.
    pipeline.run_pipeline(config(2e-4), ws, ["cpt", "sft"], resume="require")
    assert seen[4:] == [("sft", "require")]
