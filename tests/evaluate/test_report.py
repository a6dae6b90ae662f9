"""The verdict line tells whether held-out perplexity fell at every stage."""

from doppel.evaluate.report import verdict


def test_verdict_line():
    falls = {"base": {"heldout_perplexity": 90.0}, "cpt": {"heldout_perplexity": 40.0},
             "sft": {"heldout_perplexity": 38.5}}
    assert verdict(falls) == "held-out perplexity: base 90 → cpt 40 → sft 38.5 (falls at every stage)"
    falls["sft"]["heldout_perplexity"] = 41.0
    assert verdict(falls).endswith("(does NOT fall at every stage)")
    assert verdict({"base": {"heldout_perplexity": 3.0}}) == ""


def test_best_per_column_and_plain_verdicts():
    from doppel.evaluate.report import best_values, stage_verdicts, with_pairwise

    rows = {"base": {"heldout_perplexity": 90.0, "person_likeness": 0.1, "distinct_2_ratio": 1.5},
            "prompted": {"heldout_perplexity": None, "person_likeness": 0.3, "distinct_2_ratio": 0.8},
            "sft": {"heldout_perplexity": 40.0, "person_likeness": 0.9, "distinct_2_ratio": 1.1}}
    best = best_values(rows)
    assert best == {"heldout_perplexity": 40.0, "person_likeness": 0.9, "distinct_2_ratio": 1.1}
    results = {"models": rows, "judge": {"win_rates": {"sft": {"win_rate": 0.3}, "prompted": {"win_rate": 0.7}},
                                         "faithfulness": {"sft": 2.0, "prompted": 4.5}}}
    (line,) = stage_verdicts(with_pairwise(results))
    assert line.startswith("SFT vs the prompted base: beats it on voice (0.9 vs 0.3)")
    assert "loses on the judge's vote (0.3 vs 0.7), faithfulness (2 vs 4.5)" in line


def test_the_report_says_the_rl_rung_was_rewarded_by_another_classifier(tmp_path):
    from doppel.config import PersonaConfig
    from doppel.evaluate.report import RL_NOTE, write_report
    from doppel.workspace import Workspace

    ws = Workspace(tmp_path / "run").create()
    persona = PersonaConfig(name="Mara Quell")
    sft = {"sft": {"model": "sft", "person_likeness": 0.8, "answers": 2}}
    without = write_report(ws, {"models": sft, "reference": {}}, persona).read_text()
    rl = {**sft, "rl": {"model": "rl", "person_likeness": 0.9, "answers": 2}}
    with_rl = write_report(ws, {"models": rl, "reference": {}}, persona).read_text()
    assert RL_NOTE not in without and RL_NOTE in with_rl


def test_the_report_calls_a_small_local_judge_weak_and_says_how_to_use_a_stronger_one(tmp_path):
    import html

    from doppel.config import PersonaConfig
    from doppel.evaluate.report import weak_judge_note, write_report
    from doppel.workspace import Workspace

    ws = Workspace(tmp_path / "run").create()
    rows = {"sft": {"model": "sft", "answers": 2}, "prompted": {"model": "prompted", "answers": 2}}
    judge = {"model": "some-endpoint-model", "pairs": 4,
             "win_rates": {"sft": {"win_rate": 0.5, "ci_low": 0.2, "ci_high": 0.8},
                           "prompted": {"win_rate": 0.5, "ci_low": 0.2, "ci_high": 0.8}}}
    page = write_report(ws, {"models": rows, "reference": {}, "judge": judge}, PersonaConfig(name="M")).read_text()
    assert "LLM judge" in page and "weak judge" not in page
    local = {**judge, "local_model": "smollm2-135m-instruct"}
    page = write_report(ws, {"models": rows, "reference": {}, "judge": local}, PersonaConfig(name="M")).read_text()
    note = html.escape(weak_judge_note("smollm2-135m-instruct"))
    assert note in page and "weak judge" in note and "teacher.base_url" in note and "eval.judge.model" in note


def test_the_report_stage_needs_the_eval_results(tmp_path):
    import pytest

    from doppel.config import PersonaConfig
    from doppel.errors import UserError
    from doppel.evaluate import report
    from doppel.workspace import Workspace

    with pytest.raises(UserError, match="results.json is missing.*doppel run CONFIG"):
        report.run(PersonaConfig(name="Mara Quell"), Workspace(tmp_path).create())
    assert not (tmp_path / "eval" / "report.html").exists()
