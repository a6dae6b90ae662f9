"""The person, the sources to read and the ingest settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from doppel.config.base import Strict, normalize_name


class PersonaConfig(Strict):
    name: str = Field(min_length=1)
    aliases: list[str] = []
    description: str = ""
    # Signature phrases of the person; evaluation counts how often samples use them.
    catchphrases: list[str] = []
    # The system prompt used in training examples and at chat time; built from the
    # name and description when left empty so the two always agree.
    system_prompt: str | None = None

    def matches(self, speaker: str) -> bool:
        """True when a transcript's speaker label is this person (case and punctuation ignored)."""
        return normalize_name(speaker) in {normalize_name(n) for n in [self.name, *self.aliases]}

    def prompt(self) -> str:
        if self.system_prompt:
            return self.system_prompt
        text = f"You are {self.name}."
        if self.description:
            text += " " + self.description.strip()
        return text


SourceKind = Literal["auto", "text", "markdown", "transcript", "html", "pdf", "srt", "vtt", "sbv", "ttml",
                     "json", "table", "youtube"]


class SourceConfig(Strict):
    # A file or folder (read recursively), or a web page / YouTube URL: exactly one of the two.
    path: Path | None = None
    url: str | None = None
    kind: SourceKind = "auto"  # auto: chosen by content and extension
    # The speaker of turns that carry no label (a solo vlog's captions), and label renames
    # such as {"SPEAKER_00": "Jane", "A": "Jane"}.
    speaker: str | None = None
    speakers: dict[str, str] = {}
    # Crawl limits for a url source (default: ingest.crawl).
    depth: int | None = Field(None, ge=0)
    max_pages: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_location(self) -> "SourceConfig":
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path:' (a file or folder) or 'url:' (a web page)")
        if self.url is not None and not re.match(r"https?://[^/\s]+", self.url):
            raise ValueError(f"url '{self.url}' must start with http:// or https:// and name a host")
        return self


class CleanSettings(Strict):
    # Speech clean-up applied to transcript turns (essays keep their words).
    fillers: bool = False  # off by default: a person's "um"s can be part of their voice
    filler_words: list[str] = ["um", "umm", "uh", "uhh", "uhm", "erm", "er", "hmm", "mm"]
    # Removed only where set off by commas ("it was, you know, hard").
    comma_fillers: list[str] = ["you know", "I mean"]
    annotations: bool = True  # [crosstalk], [laughter], (laughs), ♪ music ♪
    timestamps: bool = True  # (00:12:03), [01:02] inside the text
    links: bool = True  # URLs and markdown links (their text is kept)
    stutters: bool = True  # "I I I think" → "I think", "th- the" → "the"


class DedupSettings(Strict):
    exact: bool = True
    near: bool = True
    # A document is a near-duplicate when this share of its word shingles appears in a
    # longer kept document (the same episode re-uploaded, a clip of a longer one).
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    shingle_words: int = Field(5, ge=1, le=20)
    num_perm: int = Field(128, ge=16, le=1024)


class CrawlSettings(Strict):
    depth: int = Field(1, ge=0)  # 0: the page itself; 1: plus the pages it links to; ...
    max_pages: int = Field(100, ge=1)
    same_site: bool = True
    delay: float = Field(1.0, ge=0.0)  # seconds between two requests to one host
    timeout: float = Field(30.0, gt=0.0)
    max_bytes: int = Field(20_000_000, ge=1024)
    respect_robots: bool = True
    user_agent: str = "Doppel/0.1 (personal corpus ingest; polite crawler)"
    languages: list[str] = ["en"]  # YouTube subtitle languages asked of yt-dlp


class IngestConfig(Strict):
    clean: CleanSettings = CleanSettings()
    dedup: DedupSettings = DedupSettings()
    # ISO 639-1 codes to keep (e.g. [en, de]); empty keeps every language.
    languages: list[str] = []
    min_words: int = Field(10, ge=0)
    strict: bool = False  # any rejected file fails the stage
    workers: int = Field(0, ge=0)  # processes that parse files; 0: one per CPU core
    crawl: CrawlSettings = CrawlSettings()
