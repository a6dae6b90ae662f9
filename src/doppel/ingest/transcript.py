"""Plain-text transcripts with speaker labels, in the conventions transcription services use:

    Jane Smith:                     Jane Smith (00:01:05):        [Jane Smith] 00:01:05
    Hello there.                    Hello there.                  Hello there.
                                    (00:01:30)
    Bob: Hi. (inline)               More of Jane's answer.        Jane Smith  1:05   (Otter)

    Jane Smith [(00:01:05)](https://youtu.be/x?t=65) Hello there.     00:01:05 Jane: Hello.
    Q: A question?   A: An answer.

`label_verdict` decides, per document, whether a text is a transcript at all, so an essay with
one "Note:" line, or a list of `Algol:`, `Lisp:`, `Pascal:` items, stays an essay.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from doppel.config import normalize_name
from doppel.ingest.base import UNKNOWN, add_turn
from doppel.ingest.labels import CHANGE_MARK, is_label, split_label
from doppel.ingest.words import count_words
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


def _coverage(lines: list[str], found: list) -> float:
    """The share of the words on labelled lines (for a label on its own line, the next line)."""
    covered = 0
    for i, p in found:
        text = p[2] or (lines[i + 1] if i + 1 < len(lines) else "")
        covered += count_words(text)
    return covered / max(1, sum(count_words(ln) for ln in lines))


@dataclass
class Verdict:
    """Whether a text's `Label:` lines are speaker turns, why, and the labels seen."""

    transcript: bool
    why: str = ""
    labels: list[str] = field(default_factory=list)


def label_verdict(text: str, sample_lines: int = 400) -> Verdict:
    """Decide, for one document, whether its labelled lines are turns of a conversation.

    Known transcript layouts (labels with timestamps, Q/A) are turns. Plain `Name:` lines
    are turns only when speakers take turns: a speaker comes back after another spoke, most
    labels belong to recurring speakers, and the labelled lines carry a fair share of the
    words (or the conversation is long and regular enough to leave no doubt). A list such as
    `Algol: ...`, `Lisp: ...`, `Pascal: ...` in an essay has none of that and stays prose, so
    the author's paragraphs are never handed to a "speaker" named after a list item."""
    lines = [ln.strip() for ln in text.split("\n")[: sample_lines * 3] if ln.strip()][:sample_lines]
    found = [(i, p) for i, p in enumerate(parse_line(ln) for ln in lines) if p and p[0]]
    labels = [p[0] for _, p in found]
    distinct = list(dict.fromkeys(labels))
    if len(labels) < 2 or len(distinct) < 2 or len(labels) < 0.15 * len(lines):
        return Verdict(False, "", distinct if len(labels) >= 2 else [])
    timed = sum(1 for _, p in found if p[1] is not None)
    if timed >= 2 and timed * 2 >= len(labels):
        return Verdict(True, "timestamped speaker labels", distinct)
    if {normalize_name(n) for n in distinct} <= {"q", "a"}:
        return Verdict(True, "Q/A interview", distinct)
    counts = Counter(labels)
    recurring = sum(c for c in counts.values() if c >= 2) / len(labels)
    seen, returns = set(), 0  # a speaker speaking again after someone else
    for prev, cur in zip(labels, labels[1:]):
        seen.add(prev)
        returns += cur != prev and cur in seen
    coverage = _coverage(lines, found)
    headers = sum(1 for _, p in found if not p[2])
    if returns >= 2 and recurring >= 0.8 and len(labels) >= 6:
        return Verdict(True, "speakers take turns", distinct)
    if returns >= 1 and recurring >= 0.5 and coverage >= 0.3:
        return Verdict(True, "speakers take turns", distinct)
    if len(labels) == 2 and (headers == 2 or coverage >= 0.5):
        return Verdict(True, "two speakers, one turn each", distinct)
    if not returns:
        why = "no labelled speaker speaks again after another"
    elif recurring < 0.5:
        why = f"most labels occur once ({round(100 * (1 - recurring))}% of them)"
    else:
        why = f"the labelled lines hold only {round(100 * coverage)}% of the words"
    return Verdict(False, why, distinct)
