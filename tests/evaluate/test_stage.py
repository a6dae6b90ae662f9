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


def test_the_classifier_is_fitted_once_and_saved_with_what_it_was_fitted_on(tiny_run):
    from doppel.config import load_config
    from doppel.evaluate.heldout import load_inputs
    from doppel.evaluate.scoring import fit_classifier
    from doppel.metrics import likeness_store
    from doppel.metrics.likeness import LADDER, likeness_half, person_likeness
    from doppel.workspace import Workspace

    _, run_dir, _ = tiny_run
    folder = run_dir / "eval" / "likeness"
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    meta = json.loads((folder / "classifier.json").read_text())
    rows = [json.loads(x) for x in (folder / "answers.jsonl").read_text().splitlines()]
    cfg = load_config(run_dir)
    seed = cfg.seed
    assert meta["fitted"] and meta["format"] == likeness_store.FORMAT and meta["seed"] == seed
    assert meta["rows"] == len(rows) and meta["rows_sha256"] == likeness_store.rows_hash(rows)
    assert meta["person"] == meta["person_answers"] == results["reference"]["classifier_training"]["person"]
    assert meta["negatives"]["base"] > 0 and meta["negatives"]["question"] > 0
    assert meta["cv_auc"] == results["reference"]["classifier_cv_auc"]
    # Only the ladder's half of her answers: the RL reward's classifier learns from the other.
    assert rows and all(likeness_half(r["person"]) == LADDER for r in rows)

    loaded = likeness_store.load(folder, "fix")
    sft = [json.loads(x)["answer"] for x in (run_dir / "eval" / "samples" / "sft.jsonl").read_text().splitlines()]
    references = load_inputs(cfg.eval, cfg.persona, Workspace(run_dir)).references
    # The loaded classifier gives the eval stage's own numbers on the same texts...
    assert person_likeness(loaded, sft)["person_likeness"] == results["models"]["sft"]["person_likeness"]
    assert [round(p, 4) for p in loaded.proba(references)] == results["likeness_distributions"]["person"]
    # ... and is what its saved training rows give.
    assert fit_classifier(rows, seed).proba(sft + references) == loaded.proba(sft + references)


def test_fluency_scores_the_trained_rungs_answers_against_hers(tiny_run):
    """The untouched base model's perplexity of each trained rung's answers, over its perplexity of the
    person's own answers; the base model's own answers are not scored (it would judge itself)."""
    _, run_dir, stdout = tiny_run
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    ref = results["reference"]
    assert ref["base_perplexity_of_answers"] > 1 and ref["fluency_ratio"] == 1.0
    for label in ("cpt", "sft"):
        row = results["models"][label]
        assert row["base_perplexity_of_answers"] > 1
        assert row["fluency_ratio"] == round(row["base_perplexity_of_answers"] / ref["base_perplexity_of_answers"], 4)
    for label in ("base", "prompted"):
        assert "fluency_ratio" not in results["models"][label]
    assert "eval: sft: perplexities" in stdout and "eval: fluency" in stdout


def test_one_call_per_rung_keeps_each_answer_with_its_question(tiny_run):
    """Held-out questions, identity probes (with and without a system message) and classifier
    questions are asked in one batched call per rung; each answer lands where it belongs."""
    from doppel.metrics.identity import bare_probe_set, probe_set

    _, run_dir, _ = tiny_run
    ev = run_dir / "eval"
    probes = [json.loads(x) for x in (ev / "identity.jsonl").read_text().splitlines()]
    n_probes, n_bare = len(probe_set("Mara Quell")), len(bare_probe_set())
    for label in ("base", "prompted", "cpt", "sft"):
        mine = [p for p in probes if p["model"] == label]
        assert sum(p["system_message"] for p in mine) == n_probes
        assert sum(not p["system_message"] for p in mine) == (0 if label == "prompted" else n_bare)
        assert [p["question"] for p in mine if p["system_message"]] == [p.question for p in probe_set("Mara Quell")]
    rows = [json.loads(x) for x in (ev / "likeness" / "answers.jsonl").read_text().splitlines()]
    assert rows and all(r["person"] and "base" in r and "prompted" in r for r in rows)

    def first_round(label):
        lines = (ev / "samples" / f"{label}.jsonl").read_text().splitlines()
        return [json.loads(x)["question"] for x in lines if json.loads(x)["round"] == 0]

    assert first_round("sft") == first_round("base") and first_round("sft")  # the same questions, in order
