"""Person-likeness and function-word Delta on constructed texts with known answers."""

import pytest

from doppel.metrics.delta import DeltaProfile
from doppel.metrics.likeness import PersonClassifier, person_likeness
from tests.metrics.voices import other_answers, person_answers, shuffled_words


@pytest.fixture(scope="module")
def texts():
    return {"person_train": person_answers(1, 120), "other_train": other_answers(2, 120),
            "person_heldout": person_answers(3, 60), "person_more": person_answers(4, 60),
            "other_heldout": other_answers(5, 60)}


@pytest.fixture(scope="module")
def classifier(texts):
    return PersonClassifier(seed=0).fit(texts["person_train"], texts["other_train"])


def test_classifier_separates_the_voices(classifier):
    assert classifier.cv_auc > 0.95
    assert (classifier.n_person, classifier.n_other) == (120, 120)


def test_person_likeness_of_copies_and_of_shuffled_words(classifier, texts):
    ref = texts["person_heldout"]
    copy = person_likeness(classifier, list(ref), ref)
    assert copy["person_likeness"] == pytest.approx(1.0)
    # New text by the same person (never seen by the classifier) also scores about 1.
    more = person_likeness(classifier, texts["person_more"], ref)["person_likeness"]
    assert 0.85 < more < 1.15
    shuffled = person_likeness(classifier, shuffled_words(ref), ref)["person_likeness"]
    other = person_likeness(classifier, texts["other_heldout"], ref)["person_likeness"]
    assert shuffled < 0.75 * more
    assert other < 0.3 and other < shuffled
    assert len(copy["probabilities"]) == len(ref)


def test_without_hard_negatives_a_word_jumble_passes_as_the_person(texts):
    """Why hard negatives: a vocabulary-only classifier cannot tell shuffled words from the person."""
    plain = PersonClassifier(hard_negatives=False).fit(texts["person_train"], texts["other_train"])
    ref = texts["person_heldout"]
    assert person_likeness(plain, shuffled_words(ref), ref)["person_likeness"] > 0.9


def test_classifier_refuses_too_little_data():
    with pytest.raises(ValueError):
        PersonClassifier().fit(["only one"], ["a", "b"])


def test_delta_near_zero_for_the_person_and_larger_for_another_voice(texts):
    profile = DeltaProfile.build(texts["person_heldout"], texts["other_train"] + texts["person_train"])
    assert len(profile.vocab) > 50
    copy = profile.delta(list(texts["person_heldout"]))
    assert copy["delta"] == pytest.approx(0.0, abs=1e-9)
    same_person = profile.delta(texts["person_more"])["delta"]
    other = profile.delta(texts["other_heldout"])["delta"]
    assert same_person < 0.5 * other
    # Delta counts words, not their order: shuffling changes nothing (the classifier sees order).
    assert profile.delta(shuffled_words(texts["person_heldout"]))["delta"] == pytest.approx(0.0, abs=1e-9)


def test_delta_reports_pool_size(texts):
    profile = DeltaProfile.build(texts["person_heldout"], texts["other_train"])
    small = profile.delta(texts["person_more"][:5])
    assert small["pooled_words"] < 5000 and small["enough_words"] is False
    big = profile.delta(person_answers(9, 300))
    assert big["pooled_words"] >= 5000 and big["enough_words"] is True
    assert profile.delta([])["delta"] is None
