"""eval's and eval_gguf's files read as one ladder; GGUF rows scored against another ladder are left out."""

import json

import pytest

from doppel import eval_results
from doppel.errors import UserError

RESULTS = {"models": {"base": {"heldout_perplexity": 90.0}, "sft": {"heldout_perplexity": 40.0}},
           "reference": {"classifier_cv_auc": 0.9}, "heldout": {"questions": 2},
           "likeness_distributions": {"base": [0.1], "sft": [0.8], "person": [1.0]}}
ROWS = {"gguf-q8_0": {"heldout_perplexity": 40.5, "backend": "gguf", "exported_from": "sft"}}


def _write(folder, results: dict, gguf: dict | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results))
    if gguf is not None:
        (folder / "gguf.json").write_text(json.dumps(gguf))
    return folder


def _record(results: dict) -> dict:
    return {"files": {"q8_0": "tiny-q8_0.gguf"}, "exported_from": "sft", "models": ROWS,
            "likeness_distributions": {"gguf-q8_0": [0.7]}, "scored_against": eval_results.digest(results)}


def test_gguf_rows_join_the_ladder_they_were_scored_against(tmp_path):
    folder = _write(tmp_path / "eval", RESULTS, _record(RESULTS))
    ladder = eval_results.load(folder)
    assert list(ladder["models"]) == ["base", "sft", "gguf-q8_0"] and ladder["notes"] == []
    assert list(ladder["likeness_distributions"]) == ["base", "sft", "gguf-q8_0", "person"]
    assert ladder["gguf"] == {"files": {"q8_0": "tiny-q8_0.gguf"}, "exported_from": "sft"}
    assert eval_results.gguf_rows_current(folder)
    assert json.loads((folder / "results.json").read_text()) == RESULTS  # reading changes nothing


def test_rows_scored_against_another_ladder_are_stale(tmp_path):
    again = {**RESULTS, "models": {**RESULTS["models"], "sft": {"heldout_perplexity": 39.0}}}
    folder = _write(tmp_path / "eval", again, _record(RESULTS))  # eval ran since eval_gguf
    ladder = eval_results.load(folder)
    assert list(ladder["models"]) == ["base", "sft"] and "gguf" not in ladder
    assert list(ladder["likeness_distributions"]) == ["base", "sft", "person"]
    (note,) = ladder["notes"]
    assert note.startswith("GGUF rows left out") and "doppel run CONFIG" in note
    assert not eval_results.gguf_rows_current(folder)


def test_human_votes_added_later_leave_the_rows_current(tmp_path):
    voted = {**RESULTS, "human": {"votes": 6, "win_rates": {"sft": {"win_rate": 1.0}}}}
    folder = _write(tmp_path / "eval", voted, _record(RESULTS))
    assert "gguf-q8_0" in eval_results.load(folder)["models"]


def test_missing_skipped_and_broken_files(tmp_path):
    assert eval_results.load(tmp_path / "nothing") == {}
    folder = _write(tmp_path / "eval", RESULTS, {"skipped": "export wrote no GGUF file"})
    assert list(eval_results.load(folder)["models"]) == ["base", "sft"]
    assert eval_results.load(folder)["notes"] == [] and not eval_results.gguf_rows_current(folder)
    (folder / "gguf.json").write_text("{not json")
    with pytest.raises(UserError, match="gguf.json is not valid JSON.*doppel run CONFIG"):
        eval_results.load(folder)
    assert not eval_results.gguf_rows_current(folder)  # eval itself is not stopped by it


def test_an_older_runs_gguf_rows_inside_results_json_are_not_shown(tmp_path):
    old = {**RESULTS, "models": {**RESULTS["models"], **ROWS}, "gguf": {"exported_from": "sft"},
           "likeness_distributions": {**RESULTS["likeness_distributions"], "gguf-q8_0": [0.7]}}
    old_record = {k: v for k, v in _record(RESULTS).items() if k != "scored_against"}
    ladder = eval_results.load(_write(tmp_path / "eval", old, old_record))
    assert list(ladder["models"]) == ["base", "sft"] and "gguf" not in ladder
    assert list(ladder["likeness_distributions"]) == ["base", "sft", "person"]
    assert len(ladder["notes"]) == 1
