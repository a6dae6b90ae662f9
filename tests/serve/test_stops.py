"""Stop strings over streamed pieces, and grounded system prompts."""

from __future__ import annotations

from doppel.serve.grounding import Grounder
from doppel.serve.stops import StopFilter


def run(stops, pieces):
    f = StopFilter(stops)
    out = "".join(f.feed(p) for p in pieces) + f.flush()
    return out, f.hit


def test_stop_spanning_pieces_is_cut():
    assert run(["END"], ["Hello E", "N", "D and more"]) == ("Hello ", True)
    assert run(["\n\n"], ["one\n", "\ntwo"]) == ("one", True)


def test_partial_match_that_does_not_complete_is_released():
    assert run(["END"], ["Hello E", "NVY", " fine"]) == ("Hello ENVY fine", False)
    assert run([], ["a", "b"]) == ("ab", False)


def test_earliest_stop_wins():
    assert run(["x", "abc"], ["zzabcx"]) == ("zz", True)


def test_grounder_puts_relevant_passages_in_the_system_prompt():
    g = Grounder(["I mended nets on the harbour wall every winter.", "The library opens late on Sundays.",
                  "Lamps need oil and patience."], k=1)
    prompt = g.system_prompt("You are Mara.", "Where did you mend the nets?")
    assert prompt.startswith("You are Mara.") and "mended nets on the harbour wall" in prompt
    assert "library" not in prompt
    assert g.system_prompt("You are Mara.", "zzz qqq") == "You are Mara."
