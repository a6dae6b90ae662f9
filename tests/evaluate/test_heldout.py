"""The held-out selection every rung is scored on, and its caps."""

from __future__ import annotations

from doppel.config import EvalConfig, PersonaConfig
from doppel.evaluate import heldout
from doppel.records import Example, Message, TextChunk
from doppel.workspace import Workspace, atomic_write_jsonl


def _workspace(tmp_path) -> Workspace:
    ws = Workspace(tmp_path / "run").create()
    atomic_write_jsonl(ws.data / "heldout" / "text.jsonl",
                       [TextChunk(id=f"t{i}", source="d", text=f"Held-out text number {i}.") for i in range(30)])
    atomic_write_jsonl(ws.data / "heldout" / "dialogues.jsonl",
                       [Example(id=f"d{i}", source="s", messages=[Message(role="user", content=f"Question {i}?"),
                                                                  Message(role="assistant", content=f"Answer {i}.")])
                        for i in range(20)])
    return ws


def test_perplexity_caps_take_a_fixed_spread_and_leave_the_rest_whole(tmp_path):
    ws = _workspace(tmp_path)
    persona = PersonaConfig(name="Mara Quell")
    whole = heldout.load_inputs(EvalConfig(questions=4), persona, ws)
    assert len(whole.texts) == 30 and len(whole.conversations) == 20
    capped = heldout.load_inputs(EvalConfig(questions=4, perplexity_texts=10, perplexity_dialogues=5), persona, ws)
    assert capped.texts == [f"Held-out text number {i}." for i in range(0, 30, 3)]
    assert [c[0]["content"] for c in capped.conversations] == [f"Question {i}?" for i in range(0, 20, 4)]
    assert heldout.perplexity_counts(capped) == {"perplexity_texts": 10, "perplexity_dialogues": 5}
    # The person's reference text and the questions every model answers do not change.
    assert len(capped.chunks) == 30 and capped.questions == whole.questions
    again = heldout.load_inputs(EvalConfig(questions=4, perplexity_texts=10, perplexity_dialogues=5), persona, ws)
    assert again.texts == capped.texts  # the same selection for every stage (eval and eval_gguf)
    # A cap at or above the count keeps everything.
    assert len(heldout.load_inputs(EvalConfig(perplexity_texts=30), persona, ws).texts) == 30
