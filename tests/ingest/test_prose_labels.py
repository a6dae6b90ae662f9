"""Per document, `Label:` lines are speaker turns only when speakers really take turns; an
essay that lists `Algol: ...`, `Lisp: ...` keeps its words as the author's own."""

import json

from doppel.config import PersonaConfig, SourceConfig
from doppel.ingest import stage
from doppel.workspace import Workspace
from tests.conftest import doppel
from tests.ingest.helpers import read, turns

LANGUAGES = """I have used many programming languages over the years, and each taught me to think differently.

Algol: the grandmother of them all, the first language I read about in a library book.
Lisp: the one that taught me that code is data, and that parentheses are not the enemy.
Pascal: the language of my first job, strict and honest like a good teacher.
Simula: where objects came from, though nobody told me that at the time.

What I learned from all of them is that a language is a way of seeing. I still write a little Lisp every winter.
"""

QUOTED_EXCHANGE = """My mother never explained herself, and I have come to think that was a kind of gift to me.
She would stand at the window in the mornings with her tea going cold and watch the boats for an hour.
I asked her once, when I was nine, what she was looking for out there on the water every single day.
Mother: Nothing.
Me: Then why look?
Mother: So that I notice when something comes.
It took me thirty years to understand that answer, and I am not sure I understand it fully even now.
The lamp, the boats, the fog: all of it is practice at noticing, and noticing is most of what I do.
When people ask me what a keeper does all night, I tell them we notice things, and they laugh at me.
They should not laugh. Noticing is hard work, harder than hauling rope, and it never really ends.
"""

PODCAST = """Host: Welcome back to the show. Today my guest is a lighthouse keeper.
Mara Quell: Thanks for having me.

It has been a long winter on the rock, and I am glad of the company.

Host: What does a keeper actually do all night?
Mara Quell: Mostly we notice things. The weather, the boats, the lamp.

And we write it all down in the log, every hour, whether anything happened or not.

Host: Every hour?
Mara Quell: Every hour. Mark my words, the log is the job.
"""


def test_an_essay_listing_languages_stays_the_authors_prose():
    [doc], _ = read("languages.txt", LANGUAGES)
    assert doc.turns is None and doc.text == LANGUAGES.strip()
    assert doc.meta["labels_not_turns"] == {"labels": ["Algol", "Lisp", "Pascal", "Simula"],
                                            "why": "no labelled speaker speaks again after another"}


def test_a_short_quoted_exchange_inside_an_essay_stays_prose():
    [doc], _ = read("mother.md", QUOTED_EXCHANGE)
    assert doc.turns is None and doc.text == QUOTED_EXCHANGE.strip()
    assert doc.meta["labels_not_turns"]["labels"] == ["Mother", "Me"]
    assert "only" in doc.meta["labels_not_turns"]["why"]


def test_a_podcast_with_continuation_paragraphs_is_still_a_transcript():
    [doc], _ = read("episode.txt", PODCAST)
    assert turns(doc) == [
        ("Host", "Welcome back to the show. Today my guest is a lighthouse keeper."),
        ("Mara Quell", "Thanks for having me. It has been a long winter on the rock, and I am glad of the company."),
        ("Host", "What does a keeper actually do all night?"),
        ("Mara Quell", "Mostly we notice things. The weather, the boats, the lamp. And we write it all down in "
                       "the log, every hour, whether anything happened or not."),
        ("Host", "Every hour?"),
        ("Mara Quell", "Every hour. Mark my words, the log is the job.")]
    assert "labels_not_turns" not in doc.meta


def test_kind_transcript_still_forces_turns():
    [doc], _ = read("languages.txt", LANGUAGES, kind="transcript")
    assert [t.speaker for t in doc.turns] == ["Unknown", "Algol", "Lisp", "Pascal", "Simula"]


def test_report_and_list_speakers_show_documents_read_as_prose(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "languages.txt").write_text(LANGUAGES)
    (src / "episode.txt").write_text(PODCAST)
    ws = Workspace(tmp_path / "run").create()
    stage.run([SourceConfig(path=src)], [], PersonaConfig(name="Mara Quell"), ws)
    report = json.loads((ws.corpus / "ingest_report.json").read_text())
    [entry] = report["labels_not_turns"]
    assert entry["path"].endswith("languages.txt") and entry["labels"] == ["Algol", "Lisp", "Pascal", "Simula"]
    assert "Algol" not in report["speakers"] and report["speakers"]["Mara Quell"]["turns"] == 3
    docs = [json.loads(line) for line in (ws.corpus / "documents.jsonl").read_text().splitlines()]
    essay = next(d for d in docs if d["source"].endswith("languages.txt"))
    assert essay["turns"] is None and "Simula: where objects came from" in essay["text"]

    proc = doppel("ingest", src / "languages.txt", "--out", tmp_path / "out", "--list-speakers", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no transcript speakers" in proc.stdout and "read as prose" in proc.stdout
    assert "Algol, Lisp, Pascal, Simula" in " ".join(proc.stdout.split())
