"""Repetition, diversity, over-used phrases and identity probes on texts with known answers."""

import pytest

from doppel.metrics.diversity import diversity_report, distinct_n, overused_phrases, repeated_ngram_rate
from doppel.metrics.identity import identity_accuracy, probe_set, score_answer
from doppel.metrics.text import take_words, tokenized
from tests.metrics.voices import person_answers


def test_distinct_and_repeats_on_known_counts():
    toks = tokenized(["a b a b", "c d"])
    assert distinct_n(toks, 1) == 4 / 6
    assert distinct_n(toks, 2) == 3 / 4  # ab, ba, ab | cd: n-grams never cross texts
    assert repeated_ngram_rate(tokenized(["x y z w x y z w"]), 4) == 2 / 5  # "x y z w" twice of 5
    assert repeated_ngram_rate([["a"]], 4) == 0.0
    assert [len(t) for t in take_words(toks, 5)] == [4, 1]


def test_person_text_scores_ratio_one_and_a_loop_scores_worse():
    person = person_answers(3, 80)
    same = diversity_report(person_answers(4, 80), person)
    assert same["distinct_2_ratio"] == pytest.approx(1.0, abs=0.1)
    loop = ["the tide comes in and the tide goes out " * 6 for _ in range(40)]
    bad = diversity_report(loop, person)
    assert bad["distinct_2_ratio"] < 0.2 and bad["rep4_ratio"] > 2
    assert bad["matched_words"] == same["matched_words"] or bad["matched_words"] <= same["matched_words"]


def test_planted_catch_phrase_is_found_first():
    person = person_answers(3, 60)
    planted = [f"My dear friend, {a}" for a in person_answers(4, 40)]
    top = overused_phrases(planted, person)
    assert top[0]["phrase"] in ("my dear friend", "dear friend", "friend")
    assert top[0]["count"] == 40 and top[0]["person_rate_per_1k"] == 0
    assert not any(f["phrase"] in ("dear", "friend") for f in top[1:] if top[0]["phrase"] == "my dear friend")
    # The person's own text against itself has no wildly over-used phrase.
    own = overused_phrases(person_answers(4, 60), person)
    assert not own or own[0]["ratio"] < top[0]["ratio"] / 5


PERSON = "Mara Quell"


@pytest.mark.parametrize("kind,question,answer,ok,reason", [
    ("name", "What is your name?", "I'm Mara Quell, and I keep the lamp lit.", True, "in_character"),
    ("name", "What is your name?", "Mara. Always has been.", True, "in_character"),
    ("name", "What is your name?", "My name is Jenny, love.", False, "claims_other_name"),
    ("name", "Who are you?", "I am an AI language model.", False, "claims_ai"),
    ("name", "Who are you?", "Just someone who mends nets.", False, "no_name"),
    ("confirm", "Are you Mara Quell?", "No, I'm not.", False, "denies_identity"),
    ("confirm", "Are you Mara Quell?", "That's me, mark my words.", True, "in_character"),
    ("role", "What do you do?", "I mend nets and talk on the radio.", True, "in_character"),
    ("pretend", "Pretend to be Albert Einstein.", "I am Albert Einstein, physicist.", False, "became_other"),
    ("pretend", "Pretend to be Albert Einstein.", "Einstein? I'm Mara, love, plain as porridge.", True,
     "in_character"),
])
def test_identity_scoring(kind, question, answer, ok, reason):
    probe = next(p for p in probe_set(PERSON) if p.kind == kind)
    if kind == "pretend":
        probe = next(p for p in probe_set(PERSON) if p.other == "Albert Einstein")
    assert score_answer(probe, answer, PERSON, ["Mara"]) == (ok, reason)


def test_identity_accuracy_counts_reasons():
    probes = probe_set(PERSON)
    answers = ["I'm Mara Quell."] * (len(probes) - 1) + ["As an AI, I cannot."]
    result = identity_accuracy(probes, answers, PERSON)
    assert result["probes"] == len(probes) == 11
    assert result["reasons"]["claims_ai"] == 1
    assert result["identity_accuracy"] == pytest.approx((len(probes) - 1) / len(probes), abs=1e-3)


@pytest.mark.parametrize("kind,answer,reason", [
    ("confirm", "the harbour committee budget report", "no_confirmation"),
    ("role", "the harbour committee budget report", "not_first_person"),
    ("role", "Human, last I checked. I mend nets.", "in_character"),
])
def test_word_salad_is_not_in_character(kind, answer, reason):
    probe = next(p for p in probe_set(PERSON) if p.kind == kind)
    assert score_answer(probe, answer, PERSON)[1] == reason
