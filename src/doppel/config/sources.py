"""The person, the sources to read and the ingest settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from doppel.config.base import Strict, normalize_name


class PersonaConfig(Strict):
    name: str = Field(min_length=1, description="The person whose voice the model learns, as their turns are "
                      "labelled in transcripts.")
    aliases: list[str] = Field([], description="Other speaker labels of this person in transcripts (accents, "
                               "case and punctuation are ignored when matching).")
    description: str = Field("", description="One or two sentences about the person; they go into the default "
                             "system prompt and the prompted baseline.")
    catchphrases: list[str] = Field([], description="Signature phrases of the person; evaluation counts how "
                                    "often each model's samples use them.")
    system_prompt: str | None = Field(None, description="The system prompt of training examples and chat; "
                                      "empty builds it from name and description so the two always agree.")
    fictional: bool = Field(False, description="True for a made-up persona (as the demo's is): the model card "
                            "then says so. Otherwise it claims of the person only what this config says.")

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
    path: Path | None = Field(None, description="A file or folder (read recursively); give either path or url, "
                              "not both.")
    url: str | None = Field(None, description="A web page or a YouTube video/playlist/channel URL; give either "
                            "path or url, not both.")
    kind: SourceKind = Field("auto", description="How to read the source; auto chooses by content and file "
                             "extension.")
    speaker: str | None = Field(None, description="The speaker of turns that carry no label (a solo vlog's "
                                "captions).")
    speakers: dict[str, str] = Field({}, description="Speaker label renames such as {SPEAKER_00: Jane, A: "
                                     "Jane}.")
    depth: int | None = Field(None, ge=0, description="Crawl depth for a url source; empty uses "
                              "ingest.crawl.depth.")
    max_pages: int | None = Field(None, ge=1, description="The most pages crawled for a url source; empty uses "
                                  "ingest.crawl.max_pages.")

    @model_validator(mode="after")
    def _one_location(self) -> "SourceConfig":
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path:' (a file or folder) or 'url:' (a web page)")
        if self.url is not None and not re.match(r"https?://[^/\s]+", self.url):
            raise ValueError(f"url '{self.url}' must start with http:// or https:// and name a host")
        return self


class CleanSettings(Strict):
    """Speech clean-up applied to transcript turns (essays keep their words)."""
    fillers: bool = Field(False, description="Remove filler words from transcript turns; off by default "
                          "because a person's 'um's can be part of their voice.")
    filler_words: list[str] = Field(["um", "umm", "uh", "uhh", "uhm", "erm", "er", "hmm", "mm"],
                                    description="The words removed when fillers is on.")
    comma_fillers: list[str] = Field(["you know", "I mean"], description="Phrases removed when fillers is on, "
                                     "only where set off by commas ('it was, you know, hard').")
    annotations: bool = Field(True, description="Remove annotations such as [crosstalk], [laughter], (laughs), "
                              "♪ music ♪.")
    timestamps: bool = Field(True, description="Remove timestamps such as (00:12:03) or [01:02] inside the "
                             "text.")
    links: bool = Field(True, description="Remove URLs and markdown links (a link's text is kept).")
    stutters: bool = Field(True, description="Collapse stutters: 'I I I think' becomes 'I think', 'th- the' "
                           "becomes 'the'.")


class DedupSettings(Strict):
    exact: bool = Field(True, description="Drop documents whose words equal a kept document's after "
                        "normalisation.")
    near: bool = Field(True, description="Drop near-duplicates: the same episode re-uploaded, a clip of a "
                       "longer one.")
    threshold: float = Field(0.8, gt=0.0, le=1.0, description="A document is a near-duplicate when this share "
                             "of its word shingles appears in a longer kept document.")
    shingle_words: int = Field(5, ge=1, le=20, description="Words per shingle compared by near-duplicate "
                               "detection.")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations: more is more exact and "
                          "slower.")


class CrawlSettings(Strict):
    depth: int = Field(1, ge=0, description="Link depth followed from a url source: 0 is the page itself, 1 "
                       "adds the pages it links to, and so on.")
    max_pages: int = Field(100, ge=1, description="The most pages fetched for one url source.")
    same_site: bool = Field(True, description="Follow only links to the same site as the starting page.")
    delay: float = Field(1.0, ge=0.0, description="Seconds between two requests to one host.")
    timeout: float = Field(30.0, gt=0.0, description="Seconds to wait for one page before giving up on it.")
    max_bytes: int = Field(20_000_000, ge=1024, description="Pages larger than this many bytes are skipped as "
                           "too large.")
    respect_robots: bool = Field(True, description="Obey each site's robots.txt.")
    user_agent: str = Field("Doppel/0.1 (personal corpus ingest; polite crawler)", description="The User-Agent "
                            "header sent with each request.")
    languages: list[str] = Field(["en"], description="YouTube subtitle languages asked of yt-dlp.")


class IngestConfig(Strict):
    clean: CleanSettings = Field(CleanSettings(), description="Speech clean-up applied to transcript turns.")
    dedup: DedupSettings = Field(DedupSettings(), description="Exact and near-duplicate removal across "
                                 "documents.")
    languages: list[str] = Field([], description="ISO 639-1 codes of the languages to keep, e.g. [en, de]; an "
                                 "empty list keeps every language.")
    min_words: int = Field(10, ge=0, description="Documents with fewer words than this are dropped as too "
                           "short.")
    strict: bool = Field(False, description="Fail the ingest stage when any file is rejected (false: report "
                         "it and go on).")
    workers: int = Field(0, ge=0, description="Processes that parse files; 0 starts one per CPU core.")
    crawl: CrawlSettings = Field(CrawlSettings(), description="Limits and manners of the crawler for url "
                                 "sources.")
