"""Speaker labels: which leading words of a caption or line name a speaker.

A label is one to four capitalised words ('Jane', 'Jane Smith', 'Dr. Jane van Dyke'),
upper-case ('JANE'), numbered ('Speaker 3', 'SPEAKER_00') or 'Q'/'A', optionally after a
`>>` speaker-change mark. Ordinary sentences with a colon ("Here's the thing: ...") have
lower-case words and are not labels.
"""

from __future__ import annotations

import re

PARTICLES = {"van", "von", "de", "da", "del", "der", "den", "di", "du", "la", "le", "bin", "al", "el", "st.", "y"}
NOT_NAMES = {"note", "notes", "update", "edit", "ps", "p.s.", "source", "sources", "warning", "example",
             "summary", "transcript", "title", "date", "tags", "link", "links", "image", "chapter",
             "step", "http", "https", "re", "fw", "subject", "from", "to", "cc", "tldr", "tl;dr",
             "caveat", "disclaimer", "important", "tip", "question", "answer", "episode", "part"}
MAX_WORDS = 4
# '>> ' marks a change of speaker in broadcast captions (YouTube, TV); it may stand alone.
CHANGE_MARK = re.compile(r"^\s*(?:>>|&gt;&gt;)\s*")
LABEL_COLON = re.compile(r"^\s*([^\s:][^:\n]{0,60}?)\s*:(?:\s+|$)(.*)$", re.DOTALL)
# Placeholders that name no one (roles such as "Host" or "Interviewer" are fine as they are).
GENERIC = re.compile(r"^(speaker|spk|new speaker|unknown|unidentified|unknown speaker|q|a|"
                     r"user|assistant|human|gpt)(?:[ _-]?\d+)?$", re.IGNORECASE)


def is_label(name: str) -> bool:
    words = name.replace("_", " ").split()
    if not words or len([w for w in words if w.lower() not in PARTICLES]) > MAX_WORDS:
        return False
    if name.casefold() in NOT_NAMES or not words[0][0].isupper():
        return False
    for w in words:
        if w.lower() in PARTICLES or w.isdigit():
            continue
        if not (w[0].isupper() and re.fullmatch(r"[\w.'’-]+", w)):
            return False
    return not name.endswith(("'", "-"))


def is_generic(name: str) -> bool:
    """Labels that name no one ('Speaker 3', 'New Speaker', 'SPEAKER_00', 'Q'): worth mapping."""
    return bool(GENERIC.match(name.strip()))


def split_label(text: str) -> tuple[str | None, str, bool]:
    """(label or None, the rest, whether a '>>' speaker change was marked)."""
    changed = False
    mark = CHANGE_MARK.match(text)
    if mark:
        changed, text = True, text[mark.end():]
    m = LABEL_COLON.match(text)
    if m and is_label(m.group(1).strip()):
        return m.group(1).strip(), m.group(2).strip(), True
    return None, text.strip(), changed
