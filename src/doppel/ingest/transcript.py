"""Plain-text transcripts with speaker labels, in the conventions transcription services use:

    Jane Smith:                     Jane Smith (00:01:05):        [Jane Smith] 00:01:05
    Hello there.                    Hello there.                  Hello there.
                                    (00:01:30)
    Bob: Hi. (inline)               More of Jane's answer.        Jane Smith  1:05   (Otter)

    Jane Smith [(00:01:05)](https://youtu.be/x?t=65) Hello there.     00:01:05 Jane: Hello.
    Q: A question?   A: An answer.

`looks_like_transcript` decides whether a text file is a transcript at all, so an essay with
one "Note:" line stays an essay.
"""

from __future__ import annotations

import re

from doppel.ingest.base import UNKNOWN, add_turn
from doppel.ingest.labels import CHANGE_MARK, is_label, split_label
from doppel.records import Turn

TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
NAME = r"[^\W\d_][\w.'’ -]{0,60}?"
PATTERNS = (  # (regex, has text after the header)
    re.compile(rf"^(?P<name>{NAME})\s+\[\(?(?P<ts>{TS})\)?\]\([^)\s]*\)\s*:?\s*(?P<text>.*)$"),
    re.compile(rf"^\[(?P<name>{NAME})\]\s*\(?(?P<ts>{TS})\)?\s*:?\s*(?P<text>.*)$"),
    re.compile(rf"^(?P<name>{NAME})\s*[(\[](?P<ts>{TS})[)\]]\s*:?\s*(?P<text>.*)$"),
    re.compile(rf"^(?P<name>{NAME})\s{{2,}}(?P<ts>{TS})\s*$"),
    re.compile(rf"^[(\[]?(?P<ts>{TS})[)\]]?\s*[-–]?\s*(?P<name>{NAME})\s*:\s*(?P<text>.*)$"),
)
TIMESTAMP_ONLY = re.compile(rf"^[(\[]?(?P<ts>{TS})[)\]]?\s*:?$")


def seconds(ts: str | None) -> float | None:
    if not ts:
        return None
    parts = ts.replace(",", ".").split(":")
    total = 0.0
    for p in parts:
        total = total * 60 + float(p)
    return total


def parse_line(line: str) -> tuple[str | None, float | None, str, bool] | None:
    """(speaker, time, text, speaker-change) when the line opens a labelled turn, else None."""
    for pattern in PATTERNS:
        m = pattern.match(line)
        if m and is_label(m.group("name").strip()):
            groups = m.groupdict()
            return m.group("name").strip(), seconds(groups.get("ts")), (groups.get("text") or "").strip(), True
    speaker, rest, changed = split_label(line)
    if speaker is not None or (changed and CHANGE_MARK.match(line)):
        return speaker, None, rest, True
    return None


def parse_transcript(text: str) -> list[Turn]:
    turns: list[Turn] = []
    speaker: str | None = None  # who speaks now
    start: float | None = None
    fresh = False  # the next words open a new turn
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        ts = TIMESTAMP_ONLY.match(line)
        if ts:  # a continuation paragraph announced by its timestamp alone
            start = seconds(ts.group("ts"))
            continue
        opened = parse_line(line)
        if opened is not None:
            speaker, start, line, fresh = opened[0] or UNKNOWN, opened[1], opened[2], True
            if not line:  # a header line: the words follow on the next lines
                continue
        if fresh:
            add_turn(turns, speaker, line, start, new=speaker == UNKNOWN)
        else:
            add_turn(turns, None, line, start)
        fresh, start = False, None
    return turns


def looks_like_transcript(text: str, sample_lines: int = 400) -> bool:
    """At least two labelled lines, two speakers, and labels on a fair share of paragraphs."""
    lines = [ln.strip() for ln in text.split("\n")[: sample_lines * 3] if ln.strip()][:sample_lines]
    if len(lines) < 2:
        return False
    labels = [p[0] for p in (parse_line(ln) for ln in lines) if p and p[0]]
    return len(labels) >= 2 and len(set(labels)) >= 2 and len(labels) >= 0.15 * len(lines)
