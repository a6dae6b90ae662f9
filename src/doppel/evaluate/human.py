"""Human A/B judgement: pairs of anonymised answers, votes in SQLite, win rates and Bradley–Terry.

Pairs are drawn once from the eval samples (every pair of models on each question, in a
seeded random order, each shown left/right at random) and stored with the votes in
`eval/human_votes.sqlite`, so a sitting can stop at any time and the next one continues.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import time
from pathlib import Path

from doppel.metrics.pairwise import bradley_terry_ci, win_rates

VOTES_DB = "human_votes.sqlite"
CHOICES = ("left", "right", "tie")


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS pairs (id INTEGER PRIMARY KEY, question TEXT, model_left TEXT, "
               "answer_left TEXT, model_right TEXT, answer_right TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS votes (pair_id INTEGER PRIMARY KEY REFERENCES pairs(id), "
               "choice TEXT CHECK (choice IN ('left','right','tie')), voter TEXT, created REAL)")
    db.commit()
    return db


def load_samples(eval_dir: Path, models: list[str] | None = None) -> dict[str, dict[str, str]]:
    """First-round answers per model: {label: {question: answer}}."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted((eval_dir / "samples").glob("*.jsonl")):
        if models and path.stem not in models:
            continue
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        out[path.stem] = {r["question"]: r["answer"] for r in rows if r.get("round", 0) == 0}
    return out


def make_pairs(samples: dict[str, dict[str, str]], seed: int = 0, questions: int | None = None) -> list[tuple]:
    """(question, model_left, answer_left, model_right, answer_right) in a shuffled order."""
    rng = random.Random(seed)
    labels = sorted(samples)
    common = sorted(set.intersection(*(set(s) for s in samples.values()))) if samples else []
    if questions:
        common = common[:questions]
    pairs = []
    for q in common:
        for a, b in itertools.combinations(labels, 2):
            if rng.random() < 0.5:
                a, b = b, a
            pairs.append((q, a, samples[a][q], b, samples[b][q]))
    rng.shuffle(pairs)
    return pairs


def ensure_pairs(db: sqlite3.Connection, samples: dict, seed: int = 0, questions: int | None = None) -> int:
    """Store the pairs the first time; later sittings reuse them (and their votes)."""
    (count,) = db.execute("SELECT COUNT(*) FROM pairs").fetchone()
    if count == 0:
        db.executemany("INSERT INTO pairs (question, model_left, answer_left, model_right, answer_right) "
                       "VALUES (?,?,?,?,?)", make_pairs(samples, seed, questions))
        db.commit()
        (count,) = db.execute("SELECT COUNT(*) FROM pairs").fetchone()
    return count


def next_pair(db: sqlite3.Connection) -> dict | None:
    row = db.execute("SELECT id, question, answer_left, answer_right FROM pairs WHERE id NOT IN "
                     "(SELECT pair_id FROM votes) ORDER BY id LIMIT 1").fetchone()
    return dict(zip(("id", "question", "left", "right"), row)) if row else None


def record_vote(db: sqlite3.Connection, pair_id: int, choice: str, voter: str = "") -> None:
    if choice not in CHOICES:
        raise ValueError(f"choice must be one of {CHOICES}")
    db.execute("INSERT OR REPLACE INTO votes VALUES (?,?,?,?)", (pair_id, choice, voter, time.time()))
    db.commit()


def progress(db: sqlite3.Connection) -> tuple[int, int]:
    (done,) = db.execute("SELECT COUNT(*) FROM votes").fetchone()
    (total,) = db.execute("SELECT COUNT(*) FROM pairs").fetchone()
    return done, total


def comparisons(db: sqlite3.Connection) -> list[tuple[str, str, float]]:
    rows = db.execute("SELECT p.model_left, p.model_right, v.choice FROM votes v JOIN pairs p ON p.id = v.pair_id")
    score = {"left": 1.0, "right": 0.0, "tie": 0.5}
    return [(left, right, score[choice]) for left, right, choice in rows]


def human_results(path: Path) -> dict:
    """Votes so far: win rates with bootstrap intervals and Bradley–Terry strengths."""
    db = connect(path)
    try:
        comps = comparisons(db)
        done, total = progress(db)
        ties = sum(1 for *_, o in comps if o == 0.5)
    finally:
        db.close()
    return {"votes": done, "pairs": total, "ties": ties, "win_rates": win_rates(comps),
            "bradley_terry": bradley_terry_ci(comps)}
