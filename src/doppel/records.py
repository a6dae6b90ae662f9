"""Artifact schemas (Document, Turn, Example, PreferencePair) and validated JSONL I/O."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from doppel.errors import UserError


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(Record):
    speaker: str
    text: str
    start: float | None = None  # seconds from the start of the recording
    end: float | None = None


class Document(Record):
    id: str
    source: str  # the file or URL it came from
    kind: str  # the reader that produced it: markdown, text, srt, ...
    corpus: Literal["persona", "background"] = "persona"
    title: str | None = None
    date: str | None = None
    text: str
    turns: list[Turn] | None = None
    meta: dict = Field(default_factory=dict)


class Message(Record):
    role: Literal["system", "user", "assistant"]
    content: str


class Example(Record):
    id: str
    messages: list[Message]
    source: str = ""  # id of the Document it was made from
    meta: dict = Field(default_factory=dict)


class PreferencePair(Record):
    id: str
    prompt: list[Message]
    chosen: str
    rejected: str
    source: str = ""
    meta: dict = Field(default_factory=dict)


class TextChunk(Record):
    """A stretch of the person's text for continued pretraining or held-out scoring."""

    id: str
    source: str  # Document id
    text: str
    header: str = ""  # "Title: … | Date: …" line, or empty

    def full_text(self) -> str:
        return f"{self.header}\n{self.text}" if self.header else self.text


R = TypeVar("R", bound=BaseModel)


def iter_jsonl(path: Path, model: type[R]) -> Iterator[R]:
    """Yield validated records; a bad line raises a UserError naming file and line."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist; run the stage that writes it first")
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield model.model_validate(json.loads(line))
            except json.JSONDecodeError as err:
                raise UserError(f"{path}:{lineno}: not valid JSON ({err.msg}); "
                                f"fix or remove that line") from None
            except ValidationError as err:
                first = err.errors()[0]
                key = ".".join(str(p) for p in first["loc"]) or "(record)"
                raise UserError(f"{path}:{lineno}: not a valid {model.__name__}: {key}: "
                                f"{first['msg']}; fix or remove that line") from None


def read_jsonl(path: Path, model: type[R]) -> list[R]:
    return list(iter_jsonl(path, model))


def dumps_jsonl(records: Iterable[BaseModel | dict]) -> str:
    return "".join((r.model_dump_json() if isinstance(r, BaseModel) else json.dumps(r, ensure_ascii=False))
                   + "\n" for r in records)
