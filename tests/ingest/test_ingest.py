"""Ingest reads Markdown, text and SRT with speakers, and reports every file as kept or rejected."""

import json

from doppel.config import PersonaConfig, SourceConfig
from doppel.ingest import stage
from doppel.ingest.readers import Rejected, read_file
from doppel.workspace import Workspace

SRT = """1
00:00:01,000 --> 00:00:03,000
Interviewer: Why do you keep
the lamp lit?

2
00:00:03,500 --> 00:00:06,000
Mara Quell: Here's the thing: somebody

3
00:00:06,000 --> 00:00:08,000
has to. Mark my words.

4
00:00:08,500 --> 00:00:09,000
Interviewer: And the fog?

5
00:00:09,500 --> 00:00:11,000
MARA: Fog lifts.
"""


def test_markdown_front_matter_gives_title_and_date(tmp_path):
    path = tmp_path / "essay.md"
    path.write_text("---\ntitle: On Tides\ndate: 2021-03-04\n---\n\nThe tide comes in.\n")
    [doc] = read_file(path)
    assert (doc.title, doc.date, doc.text, doc.kind) == ("On Tides", "2021-03-04", "The tide comes in.", "markdown")


def test_srt_labels_continuations_and_times(tmp_path):
    path = tmp_path / "talk.srt"
    path.write_text(SRT)
    [doc] = read_file(path)
    assert [(t.speaker, t.text) for t in doc.turns] == [
        ("Interviewer", "Why do you keep the lamp lit?"),
        ("Mara Quell", "Here's the thing: somebody has to. Mark my words."),
        ("Interviewer", "And the fog?"),
        ("MARA", "Fog lifts."),
    ]
    assert (doc.turns[1].start, doc.turns[1].end) == (3.5, 8.0)


def test_bad_files_are_rejected_with_reasons(tmp_path):
    # A Latin-1 file is no longer rejected: its encoding is detected (see test_encodings.py).
    cases = {"empty.txt": b"  \n", "bin.txt": b"abc\0def",
             "data.csv": b"a,b\n", "broken.srt": b"1\nnot a timestamp\nhello\n\n2\n00:00 --> x\n"}
    reasons = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        try:
            read_file(tmp_path / name)
        except Rejected as rej:
            reasons[name] = rej.reason
    assert reasons == {"empty.txt": "empty", "bin.txt": "binary",
                       "data.csv": "unsupported_format", "broken.srt": "bad_captions"}


def test_stage_reports_every_file_once_and_drops_exact_duplicates(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    # Ten words or more: shorter documents are now dropped as too_short.
    (src / "a.txt").write_text("Same words here, and enough of them to pass the filter.")
    (src / "b.txt").write_text("Same   words here, and enough of them to pass the filter.\n")  # other spacing
    (src / "talk.srt").write_text(SRT)
    (src / "x.bin").write_bytes(b"\0\0")
    ws = Workspace(tmp_path / "run").create()
    persona = PersonaConfig(name="Mara Quell", aliases=["Mara"])
    result = stage.run([SourceConfig(path=src)], [], persona, ws)
    report = json.loads((ws.corpus / "ingest_report.json").read_text())
    status = {f["path"].split("/")[-1]: (f["status"], f["reason"]) for f in report["files"]}
    assert status == {"a.txt": ("kept", None), "b.txt": ("rejected", "exact_duplicate"),
                      "talk.srt": ("kept", None), "x.bin": ("rejected", "unsupported_format")}
    assert report["files_seen"] == 4 and result.summary["documents"] == {"persona": 2, "background": 0}
    assert report["speakers"]["Mara Quell"] == {"turns": 1, "words": 9, "is_persona": True}
    assert report["speakers"]["MARA"]["is_persona"] and not report["speakers"]["Interviewer"]["is_persona"]
    assert result.summary["persona_turn_words"] == 11


def test_stage_warns_when_no_turn_matches_the_persona(tmp_path):
    (tmp_path / "talk.srt").write_text(SRT)
    ws = Workspace(tmp_path / "run").create()
    result = stage.run([SourceConfig(path=tmp_path / "talk.srt")], [], PersonaConfig(name="Jane"), ws)
    assert "no transcript turn matched persona 'Jane'" in result.summary["warning"]
    assert "Mara Quell" in result.summary["warning"]
