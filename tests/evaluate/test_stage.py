"""The eval stage on a whole tiny run: every model of the ladder, every metric, the report."""

import json

KEYS = ("heldout_perplexity", "person_likeness", "delta", "distinct_2_ratio", "rep4_ratio", "identity_accuracy")


def test_results_hold_every_model_and_metric(tiny_run):
    _, run_dir, _ = tiny_run
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    models = {label: row for label, row in results["models"].items() if row.get("backend") != "gguf"}
    assert list(models) == ["base", "prompted", "cpt", "sft"]  # the exported files follow (test_gguf_stage)
    for label, row in models.items():
        for key in KEYS:
            assert key in row, (label, key)
        assert row["answers"] >= 2
    for label in ("base", "cpt", "sft"):
        assert models[label]["heldout_perplexity"] > 1
    # The prompt does not change the weights' score on plain text, so it is not repeated.
    assert models["prompted"]["heldout_perplexity"] is None
    assert 0.0 <= results["reference"]["classifier_cv_auc"] <= 1.0
    assert results["reference"]["person_likeness"] == 1.0
    assert all(0.0 <= p <= 1.0 for p in results["likeness_distributions"]["sft"])


def test_samples_identity_and_report_are_written(tiny_run):
    _, run_dir, stdout = tiny_run
    ev = run_dir / "eval"
    prompted = [json.loads(x) for x in (ev / "samples" / "prompted.jsonl").read_text().splitlines()]
    assert prompted and {"question", "answer", "reference", "round"} <= set(prompted[0])
    probes = [json.loads(x) for x in (ev / "identity.jsonl").read_text().splitlines()]
    assert {p["model"] for p in probes} == {"base", "prompted", "cpt", "sft"}
    assert any("Mara Quell" in p["question"] for p in probes)
    report = (ev / "report.html").read_text()
    assert "<table id='metrics'>" in report and "class='best'" in report
    for name in ("perplexity.png", "likeness.png", "loss.png"):
        png = ev / "plots" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"plots/{name}" in report
    assert "SFT vs the prompted base" in report
    assert "person-likeness" in stdout
