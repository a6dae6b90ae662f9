"""Text clean-up: Unicode and whitespace normalisation for every document, and optional speech
clean-up for transcript turns (filler words, [crosstalk]-style annotations, timestamps and
links inside the text, repeated-word stutters). Counts what it removed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from doppel.config import CleanSettings
from doppel.records import Document

INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
ANNOTATION_WORDS = (r"laugh\w*|chuckl\w*|giggl\w*|applause|clapping|cheer\w*|crosstalk|cross-talk|inaudible|"
                    r"unintelligible|indiscernible|music|silence|pause|sigh\w*|cough\w*|background noise|"
                    r"noise|static|beep|overlapping|off mic|foreign|no audio|blank_audio|blank audio")
ANNOTATIONS = re.compile(rf"\[[^\]\n]{{1,60}}\]|\((?:{ANNOTATION_WORDS})(?:\s+[^)\n]{{0,30}})?\)|♪[^♪\n]*♪|[♪♫]+",
                         re.IGNORECASE)
TIMESTAMPS = re.compile(r"[(\[]\s*\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\s*[)\]]|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b")
MD_LINK = re.compile(r"\[([^\]\n]*)\]\((?:https?://|www\.)[^)\s]*\)")
URL = re.compile(r"\b(?:https?://|www\.)\S+")
STUTTER_PART = re.compile(r"\b(\w{1,3})-\s*(?=\1\w*\b)", re.IGNORECASE)  # "th- the" -> "the"
HYPHEN_REPEAT = re.compile(r"\b(\w+)(?:-\1\b)+", re.IGNORECASE)  # "I-I-I" -> "I"
REPEATED = re.compile(r"\b(\w+(?:'\w+)?)(?:[ ,]+\1\b)+", re.IGNORECASE)
# Two in a row is a stutter only for words that are rarely doubled on purpose ("that that" is).
STUTTER_WORDS = {"i", "the", "a", "an", "and", "but", "so", "we", "you", "it", "it's", "i'm", "to", "of",
                 "in", "is", "my", "he", "she", "they", "this", "what", "if", "or", "because", "like"}


def normalize(text: str) -> str:
    """NFC, invisible characters and controls out, spaces collapsed, blank lines at most one.

    Curly quotes, dashes and ellipses are kept: they are part of how the person writes."""
    if "\n" not in text and text.isascii() and text.isprintable():
        return " ".join(text.split())  # the common case: nothing to normalise but spaces
    text = unicodedata.normalize("NFC", text)
    text = CONTROL.sub("", INVISIBLE.sub("", text))
    lines = [SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@lru_cache(maxsize=64)
def _filler_patterns(words: tuple[str, ...], comma_words: tuple[str, ...]) -> tuple[re.Pattern | None, re.Pattern | None]:
    plain = re.compile(r"(?:,\s*)?\b(?:" + "|".join(map(re.escape, words)) + r")\b(?:\s*,)?", re.IGNORECASE) if words else None
    comma = (re.compile(r",\s*(?:" + "|".join(map(re.escape, comma_words)) + r")\s*,|(?:^|(?<=[.!?]\s))(?:"
                        + "|".join(map(re.escape, comma_words)) + r")\s*,\s*", re.IGNORECASE)
             if comma_words else None)
    return plain, comma


def _collapse_repeats(m: re.Match) -> str:
    return m.group(1) if m.group(1).lower() in STUTTER_WORDS else m.group(0)


def _has_repeat(text: str) -> bool:
    words = text.lower().replace(",", " ").split()
    return any(a == b for a, b in zip(words, words[1:]))


def clean_speech(text: str, cfg: CleanSettings, counts: Counter) -> str:
    """One turn's text after the speech clean-up the settings ask for.

    Each pattern runs only when a cheap test says it could match: transcripts run to
    millions of turns, and most turns need nothing."""
    capital, original = text[:1].isupper(), text

    def sub(name: str, pattern: re.Pattern, repl, s: str) -> str:
        out, n = pattern.subn(repl, s)
        counts[name] += n
        return out
    if cfg.links and ("http" in text or "www." in text):
        text = sub("links", MD_LINK, r"\1", text)
        text = sub("links", URL, "", text)
    if cfg.timestamps and ":" in text:
        text = sub("timestamps", TIMESTAMPS, "", text)
    if cfg.annotations and ("[" in text or "(" in text or "♪" in text or "♫" in text):
        text = sub("annotations", ANNOTATIONS, " ", text)
    if cfg.fillers:
        plain, comma = _filler_patterns(tuple(cfg.filler_words), tuple(cfg.comma_fillers))
        if comma is not None:
            text = sub("fillers", comma, lambda m: "," if m.group(0).startswith(",") else "", text)
        if plain is not None:
            text = sub("fillers", plain, " ", text)
    if cfg.stutters:
        if "-" in text:
            text = sub("stutters", STUTTER_PART, "", text)
            text = sub("stutters", HYPHEN_REPEAT, r"\1", text)
        if _has_repeat(text):
            before = len(text)
            text = REPEATED.sub(_collapse_repeats, text)
            counts["stutters"] += before != len(text)
    if text == original:
        return text
    text = re.sub(r"([.!?])\s+[.,](?!\.)", r"\1", " ".join(text.split()))
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"^[,;:.\s]+", "", re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text))
    text = re.sub(r",([.!?])", r"\1", text)
    # "Um, so we went" -> "So we went": keep the sentence's capital after a removal.
    return text[:1].upper() + text[1:] if capital and text[:1].islower() else text


def clean_document(doc: Document, cfg: CleanSettings, counts: Counter) -> Document:
    """Normalised text; transcript turns also get the speech clean-up (empty turns dropped)."""
    if not doc.turns:
        text = normalize(doc.text)
        if cfg.links:
            text, n = MD_LINK.subn(r"\1", text)
            counts["links"] += n
        return doc.model_copy(update={"text": text})
    turns = []
    for turn in doc.turns:
        text = clean_speech(normalize(turn.text), cfg, counts)
        if text:
            turns.append(turn.model_copy(update={"text": text, "speaker": normalize(turn.speaker)}))
        else:
            counts["empty_turns"] += 1
    body = "\n".join(f"{t.speaker}: {t.text}" for t in turns)
    return doc.model_copy(update={"turns": turns, "text": body})
