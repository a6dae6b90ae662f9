"""What every reader shares: the input it reads, the Rejected signal (rejected.py), turn and document helpers.

A reader is `read_x(inp: Input) -> list[Document]`. It raises `Rejected(reason, detail)` for
input it cannot use, and notes any repair it made (a cue that ended before it started, a
truncated last character) in `inp.repairs`, so the stage can count both.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from doppel.ingest.rejected import Rejected
from doppel.records import Document, Turn

UNKNOWN = "Unknown"  # the speaker of a turn that carries no label
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass
class Input:
    """One file or fetched page: its name (path or URL), raw bytes and, once decoded, text."""

    name: str
    data: bytes
    content_type: str | None = None  # from HTTP, without parameters
    charset: str | None = None  # declared by HTTP
    repairs: list[str] = field(default_factory=list)
    encoding: str | None = None
    _text: str | None = None

    @property
    def is_url(self) -> bool:
        """Only a name with a URL scheme is a URL; '?', '#', '=' or quotes in a file name
        are part of the name ('Is_It_Worth_Being_Wise?.txt')."""
        return bool(URL_SCHEME.match(self.name))

    @property
    def _path(self) -> str:
        path = self.name
        if self.is_url:  # a query or fragment is not part of a URL's path
            path = urlsplit(path).path or "/"
        return path.replace("\\", "/")

    @property
    def suffix(self) -> str:
        return PurePosixPath(self._path).suffix.lower()

    @property
    def stem(self) -> str:
        stem = PurePosixPath(self._path.rstrip("/")).stem
        return re.sub(r"[^\w.-]+", "-", stem)[:60] or "page"

    @property
    def text(self) -> str:
        if self._text is None:
            from doppel.ingest.decoding import decode

            self._text, self.encoding = decode(self.data, self.charset, self.repairs)
        return self._text


def doc_id(stem: str, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{stem}-{digest}"


def date_text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value).strip() or None


def add_turn(turns: list[Turn], speaker: str | None, text: str, start: float | None = None,
             end: float | None = None, new: bool = False) -> None:
    """Append text to the turn list: a continuation (speaker None) or the same speaker again
    extends the last turn unless `new` forces a fresh one (a `>>` speaker-change mark)."""
    text = " ".join(text.split())
    if not text:
        return
    if turns and not new and (speaker is None or speaker == turns[-1].speaker):
        last = turns[-1]
        last.text = f"{last.text} {text}"
        if end is not None:
            last.end = end
        return
    turns.append(Turn(speaker=speaker or UNKNOWN, text=text, start=start, end=end))


def transcript_text(turns: list[Turn]) -> str:
    return "\n".join(f"{t.speaker}: {t.text}" for t in turns)


def transcript_doc(inp: Input, kind: str, turns: list[Turn], title: str | None = None,
                   date_: str | None = None, meta: dict | None = None) -> Document:
    if not turns:
        raise Rejected("empty", "no caption or transcript text")
    body = transcript_text(turns)
    return Document(id=doc_id(inp.stem, body), source=inp.name, kind=kind, title=title, date=date_,
                    text=body, turns=turns, meta=meta or {})


def text_doc(inp: Input, kind: str, body: str, title: str | None = None, date_: str | None = None,
             meta: dict | None = None) -> Document:
    body = body.strip()
    if not body:
        raise Rejected("empty")
    return Document(id=doc_id(inp.stem, body), source=inp.name, kind=kind, title=title, date=date_,
                    text=body, meta=meta or {})
