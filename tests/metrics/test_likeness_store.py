"""The person-likeness classifier saved and loaded: the same numbers, clear errors, two disjoint halves."""

import json

import pytest

from doppel.errors import UserError
from doppel.metrics import likeness_store
from doppel.metrics.likeness import LADDER, REWARD, PersonClassifier, likeness_half, person_likeness
from tests.metrics.voices import other_answers, person_answers, shuffled_words

ROWS = [{"question": "q", "person": "p", "base": "b"}]


@pytest.fixture(scope="module")
def fitted():
    clf = PersonClassifier(seed=3).fit(person_answers(1, 60), other_answers(2, 60))
    clf.reference_probability = 0.61
    return clf


def test_a_loaded_classifier_gives_exactly_the_fitted_ones_numbers(fitted, tmp_path):
    written = likeness_store.save(tmp_path / "likeness", fitted, ROWS, {"negatives": {"base": 1}})
    assert {p.name for p in written} == {"classifier.json", "terms.json", "weights.npz", "answers.jsonl"}
    loaded = likeness_store.load(tmp_path / "likeness", "refit it")
    texts = person_answers(3, 20) + other_answers(4, 20) + shuffled_words(person_answers(5, 10)) + ["", "  "]
    assert loaded.proba(texts) == fitted.proba(texts)  # equal, not close
    assert person_likeness(loaded, texts) == person_likeness(fitted, texts)
    assert person_likeness(loaded, texts)["person_raw_probability"] == 0.61  # its 1.0 travels with it
    assert (loaded.cv_auc, loaded.n_person, loaded.n_other, loaded.seed) == (fitted.cv_auc, 60, 60, 3)
    meta = json.loads((tmp_path / "likeness" / "classifier.json").read_text())
    assert meta["rows"] == 1 and meta["rows_sha256"] == likeness_store.rows_hash(ROWS)
    assert meta["negatives"] == {"base": 1} and meta["cv_auc"] == fitted.cv_auc
    assert likeness_store.rows_hash(ROWS) != likeness_store.rows_hash([{**ROWS[0], "person": "other"}])


def test_missing_or_older_files_are_user_errors_naming_the_file_and_the_fix(fitted, tmp_path):
    folder = tmp_path / "likeness"
    with pytest.raises(UserError, match=r"classifier\.json is missing.*do this"):
        likeness_store.load(folder, "do this")
    likeness_store.save(folder, fitted, ROWS, {})
    meta = json.loads((folder / "classifier.json").read_text())
    (folder / "classifier.json").write_text(json.dumps({**meta, "format": 0}))
    with pytest.raises(UserError, match=r"classifier\.json has format 0.*do this"):
        likeness_store.load(folder, "do this")
    (folder / "classifier.json").write_text(json.dumps(meta))
    (folder / "weights.npz").write_bytes(b"not an npz")
    with pytest.raises(UserError, match=r"cannot be read.*do this"):
        likeness_store.load(folder, "do this")


def test_without_a_classifier_the_folder_says_why_and_loads_as_none(fitted, tmp_path):
    folder = tmp_path / "likeness"
    likeness_store.save(folder, fitted, ROWS, {})
    likeness_store.save(folder, None, ROWS, {"not_fitted": "2 person answers; at least 4 needed"})
    assert likeness_store.load(folder, "fix") is None
    assert not (folder / "weights.npz").exists() and not (folder / "terms.json").exists()
    assert json.loads((folder / "classifier.json").read_text())["not_fitted"].startswith("2 person answers")


def test_the_halves_are_fixed_disjoint_and_both_used():
    answers = person_answers(6, 200)
    halves = [likeness_half(a) for a in answers]
    assert halves == [likeness_half(a) for a in answers]  # the same answer, the same half, every time
    assert set(halves) == {LADDER, REWARD}
    assert 60 < halves.count(LADDER) < 140
    assert likeness_half(answers[0]) == likeness_half(f"  {answers[0]}\n")  # by the text, not its padding
