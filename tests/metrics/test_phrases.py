"""Signature-phrase counting is case-insensitive, whole-word, and per 1,000 words."""

from doppel.metrics.phrases import phrase_counts, phrase_rate


def test_counts_whole_phrases_only():
    texts = ["Here’s the thing: mark my words.", "HERE'S THE THING again", "there's the thingamajig"]
    counts = phrase_counts(texts, ["here's the thing", "mark my words"])
    assert counts == {"here's the thing": 2, "mark my words": 1}


def test_rate_per_thousand_words():
    texts = ["mark my words " + "filler " * 97]  # 100 words, one phrase
    assert phrase_rate(texts, ["mark my words"]) == 10.0
    assert phrase_rate([], ["x"]) == 0.0 and phrase_rate(["a b"], []) == 0.0
