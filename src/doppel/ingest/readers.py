"""Readers: one function per format turning a file's text into Documents.

A reader raises `Rejected(reason)` for a file it cannot use; the stage counts the reason.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from pathlib import Path

from doppel.records import Document, Turn

# "Name: text" at the start of a caption or line; short labels only, so that ordinary
# sentences with a colon ("Here's the thing: ...") are not mistaken for speakers.
SPEAKER_LABEL = re.compile(r"^\s*([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3}):\s+(.*)$", re.DOTALL)
# Lower-case words that still read as speaker labels when they come first.
MAX_LABEL_WORDS = 4

EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".srt": "srt"}


class Rejected(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def doc_id(path: Path, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return f"{path.stem}-{digest}"


def decode(data: bytes) -> str:
    if not data.strip():
        raise Rejected("empty")
    if b"\0" in data[:4096]:
        raise Rejected("binary", "the file holds NUL bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise Rejected("not_utf8", f"byte {err.start} is not UTF-8; re-save the file as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _date_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value)


def read_markdown(path: Path, text: str) -> list[Document]:
    import frontmatter

    try:
        post = frontmatter.loads(text)
    except Exception as err:  # the YAML parser raises many types for broken front matter
        raise Rejected("bad_front_matter", str(err).splitlines()[0]) from None
    body = post.content.strip()
    if not body:
        raise Rejected("empty")
    title = post.metadata.get("title")
    if title is None:
        heading = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
        title = heading.group(1).strip() if heading else None
    return [Document(id=doc_id(path, body), source=str(path), kind="markdown",
                     title=str(title) if title is not None else None,
                     date=_date_text(post.metadata.get("date")), text=body)]


def read_text(path: Path, text: str) -> list[Document]:
    body = text.strip()
    if not body:
        raise Rejected("empty")
    return [Document(id=doc_id(path, body), source=str(path), kind="text", text=body)]


def split_label(text: str) -> tuple[str | None, str]:
    """('Name', rest) when the text starts with a speaker label, else (None, text)."""
    m = SPEAKER_LABEL.match(text)
    if not m or len(m.group(1).split()) > MAX_LABEL_WORDS:
        return None, text
    return m.group(1).strip(), m.group(2).strip()


def read_srt(path: Path, text: str) -> list[Document]:
    import srt

    try:
        cues = list(srt.parse(text))
    except (srt.SRTParseError, ValueError) as err:
        raise Rejected("bad_captions", str(err).splitlines()[0]) from None
    turns: list[Turn] = []
    for cue in cues:
        content = " ".join(cue.content.split())
        if not content:
            continue
        speaker, rest = split_label(content)
        start, end = cue.start.total_seconds(), cue.end.total_seconds()
        if speaker is None and turns:
            last = turns[-1]
            turns[-1] = last.model_copy(update={"text": f"{last.text} {rest}", "end": end})
        elif speaker is not None and turns and turns[-1].speaker == speaker:
            last = turns[-1]
            turns[-1] = last.model_copy(update={"text": f"{last.text} {rest}", "end": end})
        else:
            turns.append(Turn(speaker=speaker or "Unknown", text=rest, start=start, end=end))
    if not turns:
        raise Rejected("empty", "no caption text")
    body = "\n".join(f"{t.speaker}: {t.text}" for t in turns)
    return [Document(id=doc_id(path, body), source=str(path), kind="srt", text=body, turns=turns)]


READERS = {"markdown": read_markdown, "text": read_text, "srt": read_srt}


def read_file(path: Path, kind: str = "auto") -> list[Document]:
    if kind == "auto":
        kind = EXTENSIONS.get(path.suffix.lower(), "")
        if not kind:
            raise Rejected("unsupported_format", f"no reader for '{path.suffix or path.name}' files")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise Rejected("unreadable", err.strerror or str(err)) from None
    return READERS[kind](path, decode(data))
