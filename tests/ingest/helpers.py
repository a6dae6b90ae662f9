"""Small helpers for the ingest tests: write a fixture, read it, look at the turns."""

from __future__ import annotations

from doppel.ingest.base import Input
from doppel.ingest.readers import read_input


def read(name: str, data: bytes | str, kind: str = "auto"):
    """(documents, ReadResult) of bytes given a file name, without touching the disk."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    result = read_input(Input(name=name, data=raw), kind)
    return result.docs, result


def turns(doc) -> list[tuple[str, str]]:
    return [(t.speaker, t.text) for t in doc.turns]
