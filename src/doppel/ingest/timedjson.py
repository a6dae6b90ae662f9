"""Timed transcripts saved as JSON that are not caption files.

- The Oyez API's court hearings (`/case_media/oral_argument_audio/ID`):
  `{"title", "transcript": {"title", "sections": [{"turns": [{"speaker": {"name", ...},
  "start", "stop", "text_blocks": [{"text", "start", "stop"}]}]}]}}`. Its text holds words
  split in two ("provid es"); a split is joined when the whole word occurs elsewhere in the
  hearing and its first half never does (see join_split_words).
- youtube-transcript-api's `get_transcripts()`: `[{"VIDEO_ID": [{text, start, duration}]},
  [ids that failed]]`, one Document a video.
- `{"<start seconds>": "text", ...}` maps.
"""

from __future__ import annotations

import re
from collections import Counter

from doppel.ingest.base import UNKNOWN, Input, add_turn, transcript_doc
from doppel.records import Document, Turn

WORD = re.compile(r"[^\W\d_]+")
TAIL = re.compile(r"^([^\W\d_]{2,})[.,;:!?'\"’”)]*$")  # a word's second half, with its punctuation


def _seconds(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def is_oyez(obj: dict) -> bool:
    transcript = obj.get("transcript")
    return isinstance(transcript, dict) and isinstance(transcript.get("sections"), list)


def _halves(a: str, b: str) -> tuple[str, str] | None:
    """The letters of two neighbouring tokens that could be one word split in two."""
    m = TAIL.match(b)
    if len(a) < 2 or not a.isalpha() or m is None:
        return None
    return a.casefold(), m.group(1).casefold()


def split_pairs(texts: list[str]) -> Counter:
    pairs: Counter = Counter()
    for text in texts:
        words = text.split(" ")
        pairs.update(h for h in (_halves(a, b) for a, b in zip(words, words[1:])) if h)
    return pairs


def join_split_words(text: str, vocab: Counter, pairs: Counter, repairs: list[str]) -> str:
    """'provid es' -> 'provides' when 'provides' is a word of the document and 'provid' occurs
    nowhere else (or the second half, if longer than three letters, occurs nowhere else), so
    'a part', 'in to' and other pairs of real words stay."""
    def joins(halves: tuple[str, str]) -> bool:
        alone = pairs[halves]
        return bool(vocab["".join(halves)]) and (
            vocab[halves[0]] <= alone or (vocab[halves[1]] <= alone and len(halves[1]) > 3))
    words, out, i = text.split(" "), [], 0
    while i < len(words):
        halves = _halves(words[i], words[i + 1]) if i + 1 < len(words) else None
        if halves and joins(halves):
            out.append(words[i] + words[i + 1])
            repairs.append("joined_split_words")
            i += 2
            continue
        out.append(words[i])
        i += 1
    return " ".join(out)


def oyez(inp: Input, obj: dict) -> Document:
    transcript = obj["transcript"]
    raw: list[tuple[str, str, float | None, float | None]] = []
    for section in transcript["sections"]:
        for turn in (section.get("turns") or []) if isinstance(section, dict) else []:
            if not isinstance(turn, dict):
                continue
            speaker = turn.get("speaker")
            name = str(speaker.get("name") or UNKNOWN) if isinstance(speaker, dict) else UNKNOWN
            blocks = [b for b in turn.get("text_blocks") or [] if isinstance(b, dict)]
            text = " ".join(str(b.get("text") or "") for b in blocks)
            raw.append((name, text, _seconds(turn.get("start")), _seconds(turn.get("stop"))))
    texts = [" ".join(text.split()) for _, text, _, _ in raw]
    vocab = Counter(w.casefold() for text in texts for w in WORD.findall(text))
    pairs = split_pairs(texts)
    turns: list[Turn] = []
    for (name, _, start, stop), text in zip(raw, texts):
        add_turn(turns, name, join_split_words(text, vocab, pairs, inp.repairs), start, stop)
    title = " - ".join(str(t) for t in (transcript.get("title"), obj.get("title")) if t) or None
    return transcript_doc(inp, "oyez", turns, title=title, meta={"format": "oyez"})


def _is_snippets(value) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(s, dict) and "text" in s and "start" in s for s in value)


def is_video_map(obj: dict) -> bool:
    """get_transcripts()'s first value: video ids mapped to their snippet lists."""
    return bool(obj) and all(_is_snippets(v) for v in obj.values())


def is_seconds_map(obj: dict) -> bool:
    if not obj or not all(isinstance(v, str) for v in obj.values()):
        return False
    try:
        return all(float(k) >= 0 for k in obj)
    except (TypeError, ValueError):
        return False


def seconds_map(inp: Input, obj: dict):
    from doppel.ingest.captions import Cue, cues_to_turns

    starts = sorted((float(k), v) for k, v in obj.items())
    cues = [Cue(t, starts[i + 1][0] if i + 1 < len(starts) else t, text.split("\n"))
            for i, (t, text) in enumerate(starts)]
    return transcript_doc(inp, "timed_text", cues_to_turns(cues, inp.repairs), meta={"format": "seconds_map"})
