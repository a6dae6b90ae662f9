"""The evaluation's files read as one ladder, for every reader (the report stage, the table
`doppel run` prints, the model card), so that one place knows both files.

Each stage writes only its own file: eval writes eval/results.json (its rungs), eval_gguf
writes eval/gguf.json (the exported files' rungs and the digest of the results.json they were
scored against). When eval has run since, the GGUF rows are stale: they are left out here with
a one-line note, and the next `doppel run CONFIG` scores the files again.
"""

from __future__ import annotations

import json
from pathlib import Path

from doppel.errors import UserError
from doppel.workspace import hash_config

RESULTS = "results.json"  # the eval stage's rungs
GGUF = "gguf.json"  # the eval_gguf stage's rungs
AGAIN = "run 'doppel run CONFIG' (it runs eval before eval_gguf)"


def read_json(path: Path, what: str) -> dict:
    """A JSON file another stage wrote; a missing or broken one is a UserError saying `what` to do."""
    if not path.exists():
        raise UserError(f"{path} is missing: {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{path} is not valid JSON ({err}); {what}") from None


def digest(results: dict) -> str:
    """What GGUF rows were scored against: eval's results, less the human votes block, which
    `doppel eval human` adds later without changing any rung."""
    return hash_config({k: v for k, v in results.items() if k != "human"})


def gguf_rows_current(eval_dir: Path) -> bool:
    """True when eval/gguf.json holds rows scored against the results.json there now (False when
    either is missing or unreadable: the rows cannot be shown then either)."""
    try:
        record = read_json(Path(eval_dir) / GGUF, AGAIN)
        results = read_json(Path(eval_dir) / RESULTS, AGAIN)
    except UserError:
        return False
    return bool(record.get("models")) and record.get("scored_against") == digest(results)


def load(eval_dir: Path) -> dict:
    """eval/results.json ({} when absent) joined with the GGUF rows scored against it.

    `models` gains the `gguf-…` rows and `likeness_distributions` theirs (the person's stays
    last), `gguf` holds eval_gguf's record (files, source, judge); `notes` has one line per
    record left out as stale.
    """
    eval_dir = Path(eval_dir)
    if not (eval_dir / RESULTS).exists():
        return {}
    results = read_json(eval_dir / RESULTS, "write it again with 'doppel run CONFIG --only eval --force'")
    # GGUF rows come from gguf.json alone (an older Doppel's eval_gguf wrote them into results.json).
    models = {label: row for label, row in results.get("models", {}).items() if row.get("backend") != "gguf"}
    shapes = {k: v for k, v in results.get("likeness_distributions", {}).items() if k in models or k == "person"}
    merged = {**results, "models": models, "likeness_distributions": shapes, "notes": []}
    merged.pop("gguf", None)
    if not (eval_dir / GGUF).exists():
        return merged
    record = read_json(eval_dir / GGUF, f"remove it and {AGAIN}")
    rows = record.get("models") or {}
    if not rows:
        return merged
    if record.get("scored_against") != digest(results):
        merged["notes"].append(f"GGUF rows left out: eval/{GGUF} was scored against an earlier eval/{RESULTS} "
                               f"(eval ran since); 'doppel run CONFIG' scores the exported files again")
        return merged
    merged["models"].update(rows)
    before = dict(shapes)
    person = {"person": before.pop("person")} if "person" in before else {}
    merged["likeness_distributions"] = {**before, **record.get("likeness_distributions", {}), **person}
    merged["gguf"] = {k: v for k, v in record.items()
                      if k not in ("models", "likeness_distributions", "scored_against")}
    return merged
