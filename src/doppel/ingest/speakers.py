"""Who speaks in the corpus: per-speaker turn and word counts, label renames, and the
`--list-speakers` table that helps a user choose aliases and spot generic labels."""

from __future__ import annotations

from collections import Counter

from doppel.config import PersonaConfig, SourceConfig, normalize_name
from doppel.ingest.base import UNKNOWN
from doppel.ingest.labels import is_generic
from doppel.ingest.words import count_words
from doppel.records import Document


def assign_speakers(doc: Document, src: SourceConfig) -> Document:
    """Apply a source's label renames (`speakers:`) and its speaker for unlabelled turns."""
    if not doc.turns or not (src.speakers or src.speaker):
        return doc
    renames = {normalize_name(k): v for k, v in src.speakers.items()}
    turns = []
    for t in doc.turns:
        name = renames.get(normalize_name(t.speaker), t.speaker)
        if name == UNKNOWN and src.speaker:
            name = src.speaker
        turns.append(t if name == t.speaker else t.model_copy(update={"speaker": name}))
    return doc.model_copy(update={"turns": turns})


def speaker_counts(docs: list[Document], persona: PersonaConfig | None) -> dict:
    turns: Counter = Counter()
    words: Counter = Counter()
    for doc in docs:
        for t in doc.turns or []:
            turns[t.speaker] += 1
            words[t.speaker] += count_words(t.text)
    return {name: {"turns": turns[name], "words": words[name], "is_persona": bool(persona and persona.matches(name))}
            for name in sorted(turns, key=lambda n: (-words[n], n))}


def speakers_table(speakers: dict, title: str = "speakers"):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col, justify in (("speaker", "left"), ("turns", "right"), ("words", "right"), ("", "left")):
        table.add_column(col, justify=justify)
    for name, s in speakers.items():
        note = "persona" if s.get("is_persona") else ("generic label: map it with speakers:/aliases"
                                                       if is_generic(name) else "")
        table.add_row(name, str(s["turns"]), str(s["words"]), note)
    return table
