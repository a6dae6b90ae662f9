"""Human A/B votes: the page in real Chromium (Playwright), votes in SQLite, win rates, resuming."""

import json
import re
import signal
import sqlite3
import subprocess
import sys

import pytest
import yaml

from doppel.evaluate import human
from doppel.metrics.pairwise import bradley_terry, win_rates
from tests.browser import CHROMIUM_ARGS, chromium_or_skip

QUESTIONS = ["How do you mend a net?", "What is a library for?", "Why bake bread?"]
ANSWERS = {"sft": "Here's the thing — SFT-VOICE {i}.", "base": "The committee noted BASE-VOICE {i}.",
           "prompted": "Observers reported PROMPTED-VOICE {i}."}


def make_run(folder):
    (folder / "eval" / "samples").mkdir(parents=True)
    cfg = {"name": "abtest", "persona": {"name": "Mara Quell"}, "sources": [{"path": "src"}]}
    (folder / "config.resolved.yaml").write_text(yaml.safe_dump(cfg))
    for label, text in ANSWERS.items():
        rows = [{"id": f"q{i}", "round": 0, "question": q, "answer": text.format(i=i), "reference": "ref"}
                for i, q in enumerate(QUESTIONS)]
        (folder / "eval" / "samples" / f"{label}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "eval" / "results.json").write_text(json.dumps({"models": {m: {} for m in ANSWERS}}))
    return folder


def start(run_dir):
    proc = subprocess.Popen([sys.executable, "-m", "doppel", "eval", "human", str(run_dir), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert match, line + proc.stdout.read() if proc.poll() is not None else line
    return proc, match.group(0)


def stop(proc):
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def vote(page, n):
    """Vote like a listener who hears the SFT voice and cannot tell the other two apart."""
    for _ in range(n):
        left, right = page.inner_text("#answer-left"), page.inner_text("#answer-right")
        choice = "left" if "SFT-VOICE" in left else "right" if "SFT-VOICE" in right else "tie"
        page.click(f"#vote-{choice}")
        page.wait_for_load_state()


def test_votes_in_a_real_browser_are_stored_and_resumed(tmp_path):
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    run_dir = make_run(tmp_path / "run")
    total = len(QUESTIONS) * 3
    proc, url = start(run_dir)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            assert page.inner_text("#progress") == f"0 of {total} pairs judged"
            assert "Mara Quell" in page.inner_text("h1")
            # Anonymised: the page never names the models.
            assert not any(m in page.content() for m in ('"sft"', "prompted<", ">base"))
            vote(page, 4)
            browser.close()
    finally:
        out = stop(proc)
    db = sqlite3.connect(run_dir / "eval" / human.VOTES_DB)
    assert db.execute("SELECT COUNT(*) FROM votes").fetchone()[0] == 4
    sides = db.execute("SELECT model_left FROM pairs").fetchall()
    assert len(sides) == total and len({s for (s,) in sides}) > 1  # left/right order varies
    assert "4 votes" in out

    proc, url = start(run_dir)  # a second sitting continues where the first stopped
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            assert page.inner_text("#progress") == f"4 of {total} pairs judged"
            vote(page, total - 4)
            assert page.is_visible("#finished")
            browser.close()
    finally:
        stop(proc)

    rows = db.execute("SELECT p.model_left, p.model_right, v.choice FROM votes v JOIN pairs p ON p.id=v.pair_id")
    rows = rows.fetchall()
    assert len(rows) == total
    for left, right, choice in rows:
        expected = "left" if left == "sft" else "right" if right == "sft" else "tie"
        assert choice == expected
    results = json.loads((run_dir / "eval" / "results.json").read_text())["human"]
    assert results["votes"] == total and results["ties"] == len(QUESTIONS)
    assert results["win_rates"]["sft"]["win_rate"] == 1.0
    assert results["win_rates"]["base"]["win_rate"] == pytest.approx(0.25)
    bt = results["bradley_terry"]
    assert bt["sft"]["strength"] > bt["base"]["strength"]
    assert bt["base"]["strength"] == pytest.approx(bt["prompted"]["strength"], abs=1e-6)
    assert "Human A/B votes" in (run_dir / "eval" / "report.html").read_text()


def test_eval_human_needs_a_run_folder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "doppel", "eval", "human", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "error:" in proc.stderr and "Traceback" not in proc.stderr


def test_win_rates_and_bradley_terry_on_known_votes():
    comps = [("a", "b", 1.0)] * 8 + [("a", "b", 0.0)] * 2 + [("b", "c", 1.0)] * 8 + [("b", "c", 0.5)] * 2
    rates = win_rates(comps, samples=300)
    assert rates["a"]["win_rate"] == 0.8 and rates["a"]["ci_low"] < 0.8 < rates["a"]["ci_high"]
    assert rates["c"]["win_rate"] == pytest.approx(0.1)  # 8 losses, 2 ties of 10
    bt = bradley_terry(comps)
    assert bt["a"] > bt["b"] > bt["c"] and abs(sum(bt.values())) < 1e-6
