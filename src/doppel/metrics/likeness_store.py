"""The ladder's person-likeness classifier on disk, fitted once by the eval stage.

The eval stage saves it in eval/likeness/; export (the parity gate) and eval_gguf load it, so
every number called person-likeness in a run comes from one classifier. The folder holds:

  classifier.json  what it was fitted on (counts, sources of the negatives, seed, AUC, a hash
                   of the training rows) and the format, or why no classifier could be fitted
  terms.json       the character n-grams, in feature order
  weights.npz      the n-grams' idf and the linear model's weights (no pickle: loaded with
                   allow_pickle=False)
  answers.jsonl    the training rows themselves (question, the person's answer, other voices')
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from doppel.errors import UserError
from doppel.metrics.likeness import FEATURES, PersonClassifier
from doppel.workspace import atomic_write_bytes, atomic_write_json, atomic_write_jsonl, atomic_write_text

FOLDER = "likeness"  # under the run's eval/
FORMAT = 1  # bumped whenever what is saved, or how it is read, changes
META, TERMS, WEIGHTS, ROWS = "classifier.json", "terms.json", "weights.npz", "answers.jsonl"
# How to write the folder again, for the errors of those who load it.
REFIT = "run 'doppel run CONFIG --only eval --force' (it fits and saves the classifier), then 'doppel run CONFIG'"
SAVED_FEATURES = {**FEATURES, "ngram_range": list(FEATURES["ngram_range"])}  # as classifier.json holds them


def rows_hash(rows: list[dict]) -> str:
    """sha256 of the training rows, in order, as canonical JSON."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def save(folder: Path, clf: PersonClassifier | None, rows: list[dict], fitted_on: dict) -> list[Path]:
    """Write the classifier (or, when None, why there is none) with its training rows; the paths written."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_jsonl(folder / ROWS, rows)
    meta = {"format": FORMAT, "rows": len(rows), "rows_sha256": rows_hash(rows), **fitted_on}
    if clf is None:
        for stale in (TERMS, WEIGHTS):
            (folder / stale).unlink(missing_ok=True)
        atomic_write_json(folder / META, {**meta, "fitted": False})
        return [folder / META, folder / ROWS]
    params = clf.parameters()
    buf = io.BytesIO()
    np.savez(buf, idf=params["idf"], coef=params["coef"], intercept=params["intercept"])
    atomic_write_bytes(folder / WEIGHTS, buf.getvalue())
    atomic_write_text(folder / TERMS, json.dumps(params["terms"], ensure_ascii=False))  # one line: 200k n-grams
    atomic_write_json(folder / META, {**meta, "fitted": True, "seed": clf.seed, "hard_negatives": clf.hard_negatives,
                                      "cv_auc": clf.cv_auc, "person": clf.n_person, "other": clf.n_other,
                                      "reference_probability": clf.reference_probability,
                                      "features": SAVED_FEATURES})
    return [folder / META, folder / TERMS, folder / WEIGHTS, folder / ROWS]


def _read_meta(folder: Path, fix: str) -> dict:
    """classifier.json, checked to be this Doppel's format; a UserError naming the file and `fix` otherwise."""
    path = folder / META
    if not path.exists():
        raise UserError(f"{path} is missing: the eval stage fits the person-likeness classifier and saves it "
                        f"there (an older Doppel's eval stage did not); {fix}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{path} is not valid JSON ({err}); {fix}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise UserError(f"{path} has format {found!r}, this Doppel reads format {FORMAT} (it was written by "
                        f"another version of Doppel); {fix}")
    return meta


def load(folder: Path, fix: str) -> PersonClassifier | None:
    """The saved classifier (None when the eval stage could not fit one); `fix` says how to write it again."""
    import numpy as np

    meta = _read_meta(folder, fix)
    if not meta.get("fitted"):
        return None
    if meta.get("features") != SAVED_FEATURES:
        raise UserError(f"{folder / META} describes other features ({meta.get('features')}) than this Doppel's "
                        f"({SAVED_FEATURES}); {fix}")
    try:
        terms = json.loads((folder / TERMS).read_text(encoding="utf-8"))
        with np.load(folder / WEIGHTS, allow_pickle=False) as saved:
            arrays = {k: saved[k] for k in ("idf", "coef", "intercept")}
    except (OSError, ValueError, KeyError) as err:  # missing, truncated or not what save() wrote
        raise UserError(f"the person-likeness classifier in {folder} cannot be read ({err}); {fix}") from None
    if not (len(terms) == len(arrays["idf"]) == len(arrays["coef"])):
        raise UserError(f"{folder / TERMS} and {folder / WEIGHTS} disagree on the number of features; {fix}")
    return PersonClassifier.from_parameters({"terms": terms, **arrays}, seed=meta["seed"],
                                            hard_negatives=meta["hard_negatives"], cv_auc=meta["cv_auc"],
                                            n_person=meta["person"], n_other=meta["other"],
                                            reference_probability=meta.get("reference_probability"))
