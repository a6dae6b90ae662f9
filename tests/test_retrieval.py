"""BM25 retrieval over the person's passages."""

from doppel.retrieval import Retriever, terms

PASSAGES = [
    "The tide comes in and the tide goes out; I mended nets on the harbour wall.",
    "Bread wants patience. Knead it, leave it, and the dough will rise by morning.",
    "The lighthouse lamp must be trimmed every evening, storm or no storm.",
    "Committees discuss budgets. The harbour budget was approved in spring.",
]


def test_top_finds_the_passage_about_the_question_first():
    r = Retriever(PASSAGES)
    assert r.top("How do you bake bread and knead dough?", 2)[0][0] == 1
    assert r.top("lighthouse lamp in a storm", 1)[0][0] == 2
    ranked = r.top("harbour", 4)
    assert {i for i, _ in ranked} == {0, 3}  # passages without the word are left out
    assert ranked[0][1] >= ranked[1][1] > 0


def test_rare_terms_outweigh_common_ones_and_empty_queries_find_nothing():
    r = Retriever(PASSAGES)
    # "tide" appears only in passage 0, twice; "harbour" in two passages.
    scores = r.scores("tide harbour")
    assert scores[0] > scores[3]
    assert r.top("the and of", 3) == []  # stopwords only
    assert r.top("zebra", 3) == []
    assert r.top("bread", 0) == []
    assert terms("The Tide's  rising!") == ["tide", "s", "rising"]


def test_empty_corpus():
    assert Retriever([]).top("anything", 3) == []
