"""Transcript turns become (interviewer question → persona answer) examples."""

from doppel.config import DataConfig, PersonaConfig
from doppel.data.dialogues import build_examples, exchanges
from doppel.records import Document, Turn

PERSONA = PersonaConfig(name="Mara Quell", aliases=["Mara"], description="A keeper of lamps.")


def doc(turns):
    return Document(id="t", source="t.srt", kind="srt", text="x", turns=[Turn(speaker=s, text=t) for s, t in turns])


def test_questions_and_answers_are_merged_and_attributed():
    d = doc([("Mara", "I speak first, nobody asked."), ("Interviewer", "Why lamps?"), ("Guest", "And tides?"),
             ("MARA", "Because the dark is long."), ("Mara Quell", "And tides turn."), ("Interviewer", "Go on."),
             ("Mara", "Ok.")])
    pairs, dropped = exchanges(d, PERSONA)
    assert pairs == [("Why lamps? And tides?", "Because the dark is long. And tides turn."), ("Go on.", "Ok.")]
    assert dropped == {"answer_without_question": 1}


def test_examples_have_system_prompt_and_drop_short_answers_with_reason():
    d = doc([("Interviewer", "Why lamps?"), ("Mara", "Because the dark is long."),
             ("Interviewer", "Really?"), ("Mara", "Yes.")])
    examples, dropped = build_examples(d, PERSONA, DataConfig(min_answer_words=3))
    assert len(examples) == 1 and dropped == {"answer_too_short": 1}
    roles = [m.role for m in examples[0].messages]
    assert roles == ["system", "user", "assistant"]
    assert examples[0].messages[0].content == "You are Mara Quell. A keeper of lamps."
    assert examples[0].messages[2].content == "Because the dark is long."
