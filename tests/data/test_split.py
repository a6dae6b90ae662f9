"""The held-out split is by document: no document's text reaches both training and held-out data."""

from doppel.data.splits import heldout_ids
from doppel.records import Document, Turn


def docs():
    prose = [Document(id=f"essay{i}", source="x", kind="markdown", text=f"text {i}") for i in range(20)]
    talks = [Document(id=f"talk{i}", source="y", kind="srt", text="t",
                      turns=[Turn(speaker="A", text="q"), Turn(speaker="B", text="a")]) for i in range(6)]
    return prose + talks


def test_split_is_deterministic_and_covers_both_kinds():
    held = heldout_ids(docs(), 0.2, seed=3)
    assert held == heldout_ids(docs(), 0.2, seed=3)
    assert held != heldout_ids(docs(), 0.2, seed=4)
    assert sum(h.startswith("essay") for h in held) == 4
    assert sum(h.startswith("talk") for h in held) == 1


def test_single_document_groups_stay_in_training():
    one = [Document(id="only", source="x", kind="text", text="t")]
    assert heldout_ids(one, 0.5, seed=0) == set()
