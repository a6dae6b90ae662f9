"""Writing the demo corpus to disk: Markdown with front matter, SRT captions, plain text.

`generate_demo_sources` lays out the persona and background trees. Every file gets its
own `random.Random`, seeded from a SHA-256 of (seed, kind, index): the output is
byte-identical for the same seed and scale on any machine and in any process, and a file's
text depends only on the seed, its kind and its index (its date also on how many files of
that kind there are).
"""

from __future__ import annotations

import hashlib
import random
import re
import textwrap
from datetime import date, timedelta
from pathlib import Path

from doppel.demo import background, persona
from doppel.demo.persona import DEMO_PERSONA

CAPTION_WIDTH = 42
WORDS_PER_SECOND = 2.5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

# File counts at scale=1.0, and the date range each dated kind spans.
PERSONA_COUNTS = {"essays": 12, "interviews": 14, "notes": 10}
BACKGROUND_COUNTS = {"articles": 50, "interviews": 20, "notes": 20}
PERSONA_DATES = (date(2019, 1, 1), date(2024, 12, 31))
BACKGROUND_DATES = (date(2015, 1, 1), date(2024, 12, 31))
MANAGED_SUFFIXES = {"essays": ".md", "articles": ".md", "interviews": ".srt", "notes": ".txt"}


def file_rng(seed: int, kind: str, index: int) -> random.Random:
    digest = hashlib.sha256(f"doppel-demo:{seed}:{kind}:{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def slugify(text: str) -> str:
    words = "".join(c.lower() if c.isalnum() else " " for c in text).split()
    return "-".join(words[:6]) or "untitled"


def spread_date(rng: random.Random, span: tuple[date, date], index: int, count: int) -> date:
    """The index-th of `count` dates spread evenly across `span`, jittered within its slot."""
    days = (span[1] - span[0]).days
    slot = max(1, days // max(1, count))
    return span[0] + timedelta(days=min(days, index * slot + rng.randrange(slot)))


def markdown_text(title: str, day: date, blocks: list[str]) -> tuple[str, int]:
    """The file text and its word count (the body only; front matter is metadata)."""
    body = "\n\n".join(blocks) + "\n"
    # Titles are generated without double quotes, so plain quoting is valid YAML.
    return f'---\ntitle: "{title}"\ndate: {day.isoformat()}\n---\n\n{body}', len(body.split())


def plain_text(blocks: list[str]) -> tuple[str, int]:
    text = "\n\n".join(blocks) + "\n"
    return text, len(text.split())


def _timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, CAPTION_WIDTH, break_long_words=False, break_on_hyphens=False)


def _split_even(text: str, parts: int) -> list[str]:
    """Cut text into `parts` runs of words of roughly equal length (no one-word orphans)."""
    words, target = text.split(), len(text) / parts
    runs, current = [], []
    for word in words:
        if current and len(" ".join(current)) >= target and len(runs) < parts - 1:
            runs.append(" ".join(current))
            current = []
        current.append(word)
    return runs + [" ".join(current)]


def caption_chunks(text: str) -> list[str]:
    """Cue texts of at most two lines each, cut at sentence ends where a sentence fits."""
    chunks: list[str] = []
    current = ""
    for piece in _SENTENCE_END.split(text):
        candidate = f"{current} {piece}" if current else piece
        if len(_wrap(candidate)) <= 2:
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = ""
        lines = _wrap(piece)
        if len(lines) <= 2:
            current = piece
            continue
        runs = _split_even(piece, (len(lines) + 1) // 2)
        if any(len(_wrap(run)) > 2 for run in runs):
            runs = [" ".join(lines[i:i + 2]) for i in range(0, len(lines), 2)]
        chunks.extend(runs)
    if current:
        chunks.append(current)
    return ["\n".join(_wrap(chunk)) for chunk in chunks]


def srt_text(rng: random.Random, turns: list[tuple[str, str]]) -> tuple[str, int]:
    """SRT captions for speaker turns, and the word count of all caption text.

    A turn becomes one or more cues of at most two CAPTION_WIDTH lines; only its first
    cue carries the "Name: " label. Each cue lasts as long as its words take to say.
    """
    cues: list[str] = []
    words_total = 0
    clock = 1000 + rng.randrange(1500)
    for speaker, text in turns:
        for content in caption_chunks(f"{speaker}: {text}"):
            words = len(content.split())
            words_total += words
            duration = max(900, int(words / WORDS_PER_SECOND * 1000 * rng.uniform(0.9, 1.15)))
            start, end = clock, clock + duration
            cues.append(f"{len(cues) + 1}\n{_timestamp(start)} --> {_timestamp(end)}\n{content}\n")
            clock = end + rng.randint(40, 200)
        clock += rng.randint(300, 1200)  # the pause before the next speaker
    return "\n".join(cues), words_total


def _count(base: int, scale: float) -> int:
    return max(2, round(base * scale))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def _clear(root: Path) -> None:
    # A rerun at a smaller scale must not leave stale files that the summary would not count.
    for sub, suffix in MANAGED_SUFFIXES.items():
        folder = root / sub
        if folder.is_dir():
            for old in folder.glob(f"*{suffix}"):
                old.unlink()


def _write_persona(root: Path, seed: int, scale: float) -> dict:
    files = words = exchanges = 0
    topics = persona.TOPICS
    n = _count(PERSONA_COUNTS["essays"], scale)
    for i in range(n):
        rng = file_rng(seed, "persona/essays", i)
        topic = topics[(i + seed) % len(topics)]
        title, blocks = persona.essay(rng, topic)
        text, w = markdown_text(title, spread_date(rng, PERSONA_DATES, i, n), blocks)
        _write(root / "essays" / f"{i + 1:03d}-{slugify(title)}.md", text)
        files, words = files + 1, words + w
    labels = (DEMO_PERSONA.first_name, DEMO_PERSONA.name)
    for i in range(_count(PERSONA_COUNTS["interviews"], scale)):
        rng = file_rng(seed, "persona/interviews", i)
        episode_topics = rng.sample(topics, rng.randint(2, 4))
        n_exchanges = rng.randint(22, 30)  # so 14 episodes always give 300+ exchanges
        # Alternate her label between files so that readers must resolve aliases.
        turns = persona.interview(rng, episode_topics, n_exchanges, labels[i % 2])
        text, w = srt_text(rng, turns)
        _write(root / "interviews" / f"episode-{i + 1:03d}-{episode_topics[0].name}.srt", text)
        files, words, exchanges = files + 1, words + w, exchanges + n_exchanges
    for i in range(_count(PERSONA_COUNTS["notes"], scale)):
        rng = file_rng(seed, "persona/notes", i)
        text, w = plain_text(persona.note(rng, rng.sample(topics, 3), i + 1))
        _write(root / "notes" / f"note-{i + 1:03d}.txt", text)
        files, words = files + 1, words + w
    return {"files": files, "words": words, "exchanges": exchanges}


def _write_background(root: Path, seed: int, scale: float) -> dict:
    files = words = 0
    topics = background.ALL_TOPICS
    n = _count(BACKGROUND_COUNTS["articles"], scale)
    for i in range(n):
        rng = file_rng(seed, "background/articles", i)
        title, blocks = background.article(rng, topics[(i + seed) % len(topics)])
        text, w = markdown_text(title, spread_date(rng, BACKGROUND_DATES, i, n), blocks)
        _write(root / "articles" / f"{i + 1:03d}-{slugify(title)}.md", text)
        files, words = files + 1, words + w
    for i in range(_count(BACKGROUND_COUNTS["interviews"], scale)):
        rng = file_rng(seed, "background/interviews", i)
        episode_topics = rng.sample(topics, rng.randint(2, 4))
        text, w = srt_text(rng, background.interview(rng, episode_topics, rng.randint(30, 45)))
        _write(root / "interviews" / f"interview-{i + 1:03d}-{episode_topics[0].name}.srt", text)
        files, words = files + 1, words + w
    for i in range(_count(BACKGROUND_COUNTS["notes"], scale)):
        rng = file_rng(seed, "background/notes", i)
        text, w = plain_text(background.note(rng, rng.sample(topics, 5), i + 1))
        _write(root / "notes" / f"bulletin-{i + 1:03d}.txt", text)
        files, words = files + 1, words + w
    return {"files": files, "words": words}


def generate_demo_sources(out_dir: Path, seed: int = 0, scale: float = 1.0) -> dict:
    """Write the demo corpus under out_dir and return a summary dict.

    {"persona": {"files", "words", "exchanges"}, "background": {"files", "words"}}. Words
    are whitespace-split counts of the text a reader sees: the Markdown body after the
    front matter, every caption line (speaker labels included), and all of a .txt file.
    An exchange is an interviewer turn answered by the persona, follow-ups included.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    out = Path(out_dir)
    for root in (out / "persona", out / "background"):
        _clear(root)
    return {"persona": _write_persona(out / "persona", seed, scale),
            "background": _write_background(out / "background", seed, scale)}
