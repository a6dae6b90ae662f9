"""The eval_gguf stage: each exported GGUF file as a rung of the ladder, scored in llama.cpp."""

from __future__ import annotations

import json
import shutil

import pytest

from doppel.metrics import likeness_store
from doppel.metrics.likeness import person_likeness
from tests.conftest import doppel

KEYS = ("heldout_perplexity", "heldout_answer_perplexity", "person_likeness", "delta", "distinct_2_ratio",
        "rep4_ratio", "identity_accuracy", "catchphrases_per_1k_words")


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _copy(tiny_run, tmp_path):
    _, source_run, _ = tiny_run
    run = tmp_path / "run"
    shutil.copytree(source_run, run)  # other tests use the shared run as it is
    return run


def _ladder(run) -> dict:
    """eval's and eval_gguf's rows as every reader sees them."""
    from doppel import eval_results

    return eval_results.load(run / "eval")


def _report(run) -> str:
    """eval/report.html written again by the report stage, after a stage was run by hand."""
    from doppel.config import load_config
    from doppel.evaluate import report
    from doppel.workspace import Workspace

    report.run(load_config(run).persona, Workspace(run))
    return (run / "eval" / "report.html").read_text()


def test_each_exported_gguf_is_a_rung_with_real_numbers(tiny_run):
    _, run_dir, stdout = tiny_run
    parity = json.loads((run_dir / "export" / "parity.json").read_text())
    results = _ladder(run_dir)
    models = results["models"]
    kinds = list(parity["file_names"])
    assert kinds, "the tiny run's export writes GGUF files by default"
    assert list(models) == ["base", "prompted", "cpt", "sft", *(f"gguf-{k}" for k in kinds)]
    # Each stage its own file: eval's has no GGUF row, eval_gguf's has them all.
    assert list(json.loads((run_dir / "eval" / "results.json").read_text())["models"]) == list(models)[:4]
    assert list(json.loads((run_dir / "eval" / "gguf.json").read_text())["models"]) == list(models)[4:]
    assert results["gguf"]["exported_from"] == "sft" and results["notes"] == []
    # The same classifier as the HF rungs: the one the eval stage saved in eval/likeness/.
    assert results["gguf"]["classifier_cv_auc"] == results["reference"]["classifier_cv_auc"]
    saved = likeness_store.load(run_dir / "eval" / "likeness", "fix")
    sft = models["sft"]
    sft_questions = [s["question"] for s in _lines(run_dir / "eval" / "samples" / "sft.jsonl")]
    for kind in kinds:
        row = models[f"gguf-{kind}"]
        assert row["backend"] == "gguf" and row["gguf_file"] == parity["file_names"][kind]
        for key in KEYS:  # a number wherever the HF rungs have one
            if key == "rep4_ratio":  # needs answers long enough, which sampled answers may or may not be
                assert row[key] is None or isinstance(row[key], (int, float)), (kind, key, row[key])
                continue
            number = isinstance(sft[key], (int, float))
            assert isinstance(row[key], (int, float)) == number, (kind, key, row[key], sft[key])
        assert row["heldout_perplexity"] > 1 and row["heldout_answer_perplexity"] > 1
        assert 0 <= row["person_likeness"] and row["delta"] > 0
        samples = _lines(run_dir / "eval" / "samples" / f"gguf-{kind}.jsonl")
        assert len(samples) == row["answers"] >= 2
        assert [s["question"] for s in samples] == sft_questions  # same questions, same rounds
        assert any(s["answer"] for s in samples)
        assert len(results["likeness_distributions"][f"gguf-{kind}"]) == row["answers"]
        assert person_likeness(saved, [s["answer"] for s in samples])["person_likeness"] == row["person_likeness"]
    assert list(results["likeness_distributions"])[-1] == "person"  # the reference last, as eval wrote it
    # f16 is the SFT model in llama.cpp: perplexity from its logits matches transformers'.
    f16 = models["gguf-f16"]
    assert abs(f16["heldout_perplexity"] / sft["heldout_perplexity"] - 1) < 0.01
    assert abs(f16["heldout_answer_perplexity"] / sft["heldout_answer_perplexity"] - 1) < 0.01
    probes = _lines(run_dir / "eval" / "identity_gguf.jsonl")
    assert {p["model"] for p in probes} == {f"gguf-{k}" for k in kinds}

    report = (run_dir / "eval" / "report.html").read_text()
    for kind in kinds:
        assert f"<th>gguf-{kind}</th>" in report
        assert f"GGUF-{kind.upper()} vs the prompted base" in report
        assert f"{parity['file_names'][kind]} vs SFT, the model it was exported from" in report
    stages = list(json.loads((run_dir / "manifest.json").read_text())["stages"])
    assert stages.index("report") > stages.index("eval_gguf") > stages.index("export")
    assert "eval_gguf done" in stdout and "eval_gguf: scoring and sampling" in stdout


def _shuffle_token_embeddings(path) -> None:
    """Break a quantized file on purpose: its token embedding rows (whole quantization blocks) in
    a random order, so every token is read as another one."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(path, "r+")
    tensor = next(t for t in reader.tensors if t.name == "token_embd.weight")
    tensor.data[:] = tensor.data[np.random.default_rng(0).permutation(tensor.data.shape[0])]
    tensor.data.flush()
    del reader


def test_a_broken_quant_scores_clearly_worse(tiny_run, tmp_path):
    from doppel.config import load_config
    from doppel.evaluate import gguf_stage
    from doppel.evaluate.report import _fmt
    from doppel.workspace import Workspace

    run = _copy(tiny_run, tmp_path)
    names = json.loads((run / "export" / "parity.json").read_text())["file_names"]
    broken = [k for k in names if k not in ("f16", "bf16", "f32")][-1]
    _shuffle_token_embeddings(run / "export" / names[broken])
    cfg = load_config(run)
    result = gguf_stage.run(cfg.eval, cfg.persona, cfg.seed, Workspace(run))

    rows = _ladder(run)["models"]
    good, bad = rows["gguf-f16"], rows[f"gguf-{broken}"]
    assert bad["heldout_perplexity"] > 2 * good["heldout_perplexity"]
    assert bad["heldout_answer_perplexity"] > 2 * good["heldout_answer_perplexity"]
    assert result.summary["models"][f"gguf-{broken}"]["heldout_perplexity"] == bad["heldout_perplexity"]
    # The other rungs are untouched and the report stage shows the broken file's numbers.
    original = _ladder(tiny_run[1])["models"]
    assert rows["sft"] == original["sft"] and rows["gguf-f16"] == original["gguf-f16"]
    assert (run / "eval" / "results.json").read_bytes() == (tiny_run[1] / "eval" / "results.json").read_bytes()
    assert f"<td class=''>{_fmt(bad['heldout_perplexity'])}</td>" in _report(run)


def test_without_gguf_files_the_stage_skips_and_stays_current(tiny_run, tmp_path):
    run = _copy(tiny_run, tmp_path)
    first = doppel("run", run, "--set", "export.gguf=[]")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    out = " ".join(first.stdout.split())
    assert "notice: export wrote no GGUF file (export.gguf is empty)" in out
    results = _ladder(run)
    assert list(results["models"]) == ["base", "prompted", "cpt", "sft"] and "gguf" not in results
    assert not list((run / "eval" / "samples").glob("gguf-*")) and not (run / "eval" / "identity_gguf.jsonl").exists()
    assert "gguf-f16" not in (run / "eval" / "report.html").read_text()

    again = doppel("run", run, "--set", "export.gguf=[]")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "eval_gguf: up to date, skipped" in again.stdout and "export: up to date, skipped" in again.stdout
    assert "report: up to date, skipped" in again.stdout


def test_eval_gguf_and_report_rerun_when_their_inputs_change(tiny_run, tmp_path):
    from doppel import pipeline
    from doppel.config import load_config
    from doppel.workspace import Workspace

    run = _copy(tiny_run, tmp_path)
    cfg, ws = load_config(run), Workspace(run)
    assert pipeline.STAGE_NAMES.index("report") > pipeline.STAGE_NAMES.index("eval_gguf") > \
        pipeline.STAGE_NAMES.index("export")

    def current(name: str) -> bool:
        stage = next(s for s in pipeline.STAGES if s.name == name)
        return ws.is_current(name, *pipeline.stage_keys(stage, cfg, ws))

    assert current("eval_gguf") and current("report")
    manifest = json.loads(ws.manifest_path.read_text())
    for name, upstream in (("eval_gguf", "eval"), ("eval_gguf", "export"), ("report", "eval"),
                           ("report", "eval_gguf")):
        changed = json.loads(json.dumps(manifest))
        changed["stages"][upstream]["outputs"]["changed"] = "0"
        ws.manifest_path.write_text(json.dumps(changed))
        assert not current(name), (name, upstream)
    ws.manifest_path.write_text(json.dumps(manifest))
    assert current("eval_gguf") and current("report")


def test_eval_alone_leaves_the_gguf_rows_out_of_the_report_as_stale(tiny_run, tmp_path):
    from doppel import pipeline
    from doppel.config import load_config
    from doppel.workspace import Workspace

    run = _copy(tiny_run, tmp_path)
    ws = Workspace(run)
    record = (run / "eval" / "gguf.json").read_bytes()
    assert "gguf-f16" in _ladder(run)["models"]
    # Another question count: eval's ladder changes, the GGUF rows were scored on the old one.
    cfg = load_config(run, ["eval.questions=1"])
    pipeline.run_pipeline(cfg, ws, ["eval", "report"], force=True)
    assert "doppel run CONFIG" in ws.stage_entry("eval")["summary"]["gguf_rungs"]
    assert (run / "eval" / "gguf.json").read_bytes() == record  # eval never touches eval_gguf's files
    assert list((run / "eval" / "samples").glob("gguf-*.jsonl"))
    ladder = _ladder(run)
    assert not [k for k in ladder["models"] if k.startswith("gguf-")] and "gguf" not in ladder
    (note,) = ladder["notes"]
    assert "GGUF rows left out" in note and "earlier eval/results.json" in note
    report = (run / "eval" / "report.html").read_text()
    assert "<th>gguf-f16</th>" not in report and "GGUF rows left out" in report
    assert "GGUF rows left out" in ws.stage_entry("report")["summary"]["note"]
    pipeline.run_pipeline(cfg, ws, ["eval"], force=True)  # the rows were stale already: no new note
    assert "gguf_rungs" not in ws.stage_entry("eval")["summary"]


def test_the_judge_compares_the_exported_files_with_their_source(tiny_run, tmp_path):
    import itertools
    import re

    from doppel import pipeline
    from doppel.config import load_config
    from doppel.evaluate import gguf_stage
    from doppel.workspace import Workspace
    from tests.evaluate.openai_stub import StubServer

    def answer(prompt: str, letter: str) -> str:
        return re.search(rf"Answer {letter}:\n(.*?)(\n\n|$)", prompt, re.S).group(1)

    def longer(prompt: str) -> str:  # a judge that looks at the answers, not at their order
        if "Reply with the number only" in prompt:
            return "3"
        return "A" if len(answer(prompt, "A")) >= len(answer(prompt, "B")) else "B"

    run = _copy(tiny_run, tmp_path)
    cfg = load_config(run)
    ws = Workspace(run)
    files = json.loads((run / "export" / "parity.json").read_text())["file_names"]
    eval_cfg = cfg.eval.model_copy(update={"judge": cfg.eval.judge.model_copy(update={"questions": 3})})
    with StubServer(longer) as server:
        teacher = cfg.teacher.model_copy(update={"base_url": server.url, "model": "judge-stub"})
        result = gguf_stage.run(eval_cfg, cfg.persona, cfg.seed, ws, teacher=teacher)

    results = _ladder(run)
    judged = results["gguf"]["judge"]
    questions = min(3, results["heldout"]["questions"])
    compared = {"sft", *(f"gguf-{k}" for k in files)}  # the files were exported from the SFT model
    assert set(judged["win_rates"]) == compared and judged["questions"] == questions > 0
    pairs = questions * len(list(itertools.combinations(compared, 2)))
    assert judged["pairs"] == pairs
    # Both orders of every pair are asked; identical prompts (two files that answered alike)
    # come from the judge's cache instead of being sent again.
    pairwise = [p for p in server.prompts if "Which answer sounds more like" in p]
    assert len(set(pairwise)) == len(pairwise) and 0 < len(pairwise) <= 2 * pairs
    asked = {(re.search(r"Question put to .*?: (.*)\n", p).group(1), answer(p, "A"), answer(p, "B"))
             for p in pairwise}
    assert all((q, b, a) in asked for q, a, b in asked)  # each order of two different answers
    assert set(judged["faithfulness"]) == compared
    assert result.summary["judge_win_rates"] == {m: w["win_rate"] for m, w in judged["win_rates"].items()}
    assert "the exported GGUF files against the model they came from" in _report(run)
    # The judge's endpoint is part of the stage's settings: another one scores the files again.
    stage = next(s for s in pipeline.STAGES if s.name == "eval_gguf")
    assert stage.settings(cfg) != stage.settings(cfg.model_copy(update={"teacher": teacher}))


def test_gguf_files_chosen_puts_only_the_modelfiles_file_on_the_ladder(tiny_run, tmp_path):
    from doppel.config import load_config
    from doppel.evaluate import gguf_stage
    from doppel.workspace import Workspace

    run = _copy(tiny_run, tmp_path)
    cfg = load_config(run)
    eval_cfg = cfg.eval.model_copy(update={"gguf_files": "chosen"})
    parity_path = run / "export" / "parity.json"
    parity = json.loads(parity_path.read_text())
    kinds = list(parity["file_names"])
    assert len(kinds) >= 2
    parity["chosen"] = kinds[-1]  # whichever the gate picked, this rung alone joins the ladder
    parity_path.write_text(json.dumps(parity))
    result = gguf_stage.run(eval_cfg, cfg.persona, cfg.seed, Workspace(run))
    models = _ladder(run)["models"]
    assert [m for m in models if m.startswith("gguf-")] == [f"gguf-{kinds[-1]}"]
    assert list(result.summary["models"]) == [f"gguf-{kinds[-1]}"]
    assert sorted(p.name for p in (run / "eval" / "samples").glob("gguf-*")) == [f"gguf-{kinds[-1]}.jsonl"]

    parity["chosen"] = None  # no file passed: nothing to add, the earlier GGUF rungs are removed
    parity_path.write_text(json.dumps(parity))
    result = gguf_stage.run(eval_cfg, cfg.persona, cfg.seed, Workspace(run))
    assert "no GGUF file passed the parity gate" in result.summary["notice"]
    models = _ladder(run)["models"]
    assert not [m for m in models if m.startswith("gguf-")]
    assert not list((run / "eval" / "samples").glob("gguf-*"))


def test_without_the_eval_stages_classifier_eval_gguf_says_what_to_run(tmp_path):
    from doppel.errors import UserError
    from doppel.evaluate.gguf_stage import _classifier
    from doppel.workspace import Workspace

    with pytest.raises(UserError, match=r"eval/likeness/classifier\.json is missing.*--only eval --force"):
        _classifier(Workspace(tmp_path))
