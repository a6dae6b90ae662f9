"""Labelled plain-text transcripts in the common conventions, and Whisper-family JSON."""

import json

from tests.ingest.helpers import read, turns

OWN_LINE = """Jane Smith:
Thanks for having me.

It's been a long year.

Bob Lee:
Tell me about it.
"""

INLINE = """Jane Smith: Thanks for having me. It's been a long year.
Bob Lee: Tell me about it.
Jane Smith: Well, here's the thing: the tide waits for no one.
"""

REV = """Jane Smith (00:00:05):
Thanks for having me.

(00:00:31):
It's been a long year.

Bob Lee (00:01:02):
Tell me about it.
"""

BRACKETS = """[Jane Smith] 00:00:05
Thanks for having me.
[Bob Lee] 00:01:02
Tell me about it.
"""

LINKED = """Jane Smith [(00:00:05)](https://youtube.com/watch?v=x&t=5) Thanks for having me.
Bob Lee [(00:01:02)](https://youtube.com/watch?v=x&t=62) Tell me about it.
"""

OTTER = """Jane Smith  0:05
Thanks for having me.

Bob Lee  1:02
Tell me about it.
"""

QA = """Q: What keeps you going?
A: Stubbornness, mostly.
Q: And the fog?
A: It lifts. It always lifts.
"""


def test_speaker_on_its_own_line_and_inline():
    [doc], _ = read("a.txt", OWN_LINE)
    assert turns(doc) == [("Jane Smith", "Thanks for having me. It's been a long year."), ("Bob Lee", "Tell me about it.")]
    [doc], _ = read("b.txt", INLINE)
    assert turns(doc) == [("Jane Smith", "Thanks for having me. It's been a long year."),
                          ("Bob Lee", "Tell me about it."),
                          ("Jane Smith", "Well, here's the thing: the tide waits for no one.")]


def test_timestamped_labels_with_timestamp_only_continuations():
    [doc], _ = read("rev.txt", REV)
    assert turns(doc) == [("Jane Smith", "Thanks for having me. It's been a long year."), ("Bob Lee", "Tell me about it.")]
    assert (doc.turns[0].start, doc.turns[1].start) == (5.0, 62.0)


def test_bracketed_linked_and_otter_conventions():
    expected = [("Jane Smith", "Thanks for having me."), ("Bob Lee", "Tell me about it.")]
    for name, text in (("br.txt", BRACKETS), ("linked.md", LINKED), ("otter.txt", OTTER)):
        [doc], _ = read(name, text)
        assert turns(doc) == expected, name
        assert (doc.turns[0].start, doc.turns[1].start) == (5.0, 62.0), name


def test_question_and_answer_interviews():
    [doc], _ = read("qa.txt", QA)
    assert turns(doc) == [("Q", "What keeps you going?"), ("A", "Stubbornness, mostly."),
                          ("Q", "And the fog?"), ("A", "It lifts. It always lifts.")]


def test_an_essay_with_a_colon_or_a_note_stays_prose():
    essay = ("Here's the thing: nobody keeps a lamp lit for thanks.\n\nNote: this was written in 2019.\n\n"
             "The sea does not care who watches it.\n")
    [doc], _ = read("essay.txt", essay)
    assert doc.turns is None and doc.text == essay.strip()


def test_whisper_faster_whisper_and_whisperx_json():
    whisper = {"text": " Hello there. How are you?", "language": "en", "segments": [
        {"id": 0, "seek": 0, "start": 0.0, "end": 1.5, "text": " Hello there.", "tokens": [1, 2]},
        {"id": 1, "seek": 0, "start": 1.5, "end": 3.0, "text": " How are you?", "tokens": [3]}]}
    [doc], _ = read("w.json", json.dumps(whisper))
    assert doc.kind == "whisper" and turns(doc) == [("Unknown", "Hello there. How are you?")]
    assert doc.meta["language"] == "en" and doc.turns[0].end == 3.0
    faster = [{"start": 0.0, "end": 2.0, "text": " The tide turns.",
               "words": [{"start": 0.0, "end": 0.5, "word": " The", "probability": 0.9}]}]
    [doc], _ = read("f.json", json.dumps(faster))
    assert turns(doc) == [("Unknown", "The tide turns.")]
    whisperx = {"segments": [
        {"start": 0.0, "end": 2.0, "text": "Why the lamp? Because", "speaker": "SPEAKER_00",
         "words": [{"word": "Why", "start": 0.0, "end": 0.2, "speaker": "SPEAKER_00"},
                   {"word": "the", "start": 0.2, "end": 0.3, "speaker": "SPEAKER_00"},
                   {"word": "lamp?", "start": 0.3, "end": 0.6, "speaker": "SPEAKER_00"},
                   {"word": "Because", "start": 1.0, "end": 1.4, "speaker": "SPEAKER_01"}]},
        {"start": 2.0, "end": 3.0, "text": "somebody has to.", "speaker": "SPEAKER_01"}], "word_segments": []}
    [doc], _ = read("x.json", json.dumps(whisperx))
    assert turns(doc) == [("SPEAKER_00", "Why the lamp?"), ("SPEAKER_01", "Because somebody has to.")]
    assert (doc.turns[1].start, doc.turns[1].end) == (1.0, 3.0)
