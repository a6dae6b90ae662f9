"""Readers by kind, and `read_input` / `read_file`: bytes in, Documents out (or Rejected).

Each format family lives in its own module: documents (text, Markdown, HTML, PDF),
transcript (labelled plain text), captions (SRT, WebVTT, SBV), ttml (TTML, YouTube XML),
jsonfmt (documents, chats, json3, Whisper, role-play datasets, court hearings), tables
(Whisper TSV and CSV). `sniff` picks the reader for kind 'auto'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from doppel.ingest import captions, documents, jsonfmt, tables, ttml
from doppel.ingest.base import Input, Rejected
from doppel.ingest.sniff import EXTENSIONS, choose_reader
from doppel.records import Document

__all__ = ["EXTENSIONS", "READERS", "ReadResult", "Rejected", "read_file", "read_input"]

READERS: dict[str, Callable[[Input], list[Document]]] = {
    "text": documents.read_text, "markdown": documents.read_markdown, "transcript": documents.read_transcript,
    "html": documents.read_html, "pdf": documents.read_pdf, "srt": captions.read_srt,
    "vtt": captions.read_vtt, "sbv": captions.read_sbv, "ttml": ttml.read_ttml, "json": jsonfmt.read_json,
    "table": tables.read_table,
}


@dataclass
class ReadResult:
    docs: list[Document]
    reader: str
    encoding: str | None
    repairs: list[str]


def read_input(inp: Input, kind: str = "auto") -> ReadResult:
    """Read one input; raises Rejected with a reason. Any other error is a bug in a reader,
    reported as `reader_error` so one odd file never stops the stage."""
    if not inp.data.strip():
        raise Rejected("empty")
    reader = choose_reader(inp) if kind == "auto" else kind
    if reader not in READERS:
        raise Rejected("unsupported_format", f"no reader of kind '{reader}'")
    try:
        docs = READERS[reader](inp)
    except Rejected:
        raise
    except RecursionError:
        raise Rejected("too_deeply_nested", "the file nests too deeply to read") from None
    except Exception as err:  # noqa: BLE001 - a reader bug must not stop the whole ingest
        raise Rejected("reader_error", f"{reader} reader failed: {type(err).__name__}: {str(err)[:160]}") from None
    return ReadResult(docs, reader, inp.encoding, inp.repairs)


def read_file(path: Path, kind: str = "auto") -> list[Document]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise Rejected("unreadable", err.strerror or str(err)) from None
    return read_input(Input(name=str(path), data=data), kind).docs
