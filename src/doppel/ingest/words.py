"""Word counts and word tokens that are right for every script.

Chinese and Japanese are written without spaces between words, so splitting on whitespace
counts a whole sentence (or a whole subtitle file) as one "word". Here each Han, kana or
CJK-compatibility character counts as one word, which is close to how CJK text is usually
measured (characters) and needs no segmenter; words in other scripts are the
whitespace-separated tokens that hold a letter or digit. Korean separates its words with
spaces, so Hangul is counted by whitespace like Latin script.
"""

from __future__ import annotations

import re

# Han (with extensions A-F and compatibility ideographs), hiragana, katakana (and the
# half-width forms), the iteration and prolonged-sound marks that stand for syllables.
CJK_CHARS = ("\u3005\u3006\u3007\u3031-\u3035\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
             "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f")
CJK = re.compile(f"[{CJK_CHARS}]")
WORDLIKE = re.compile(r"\w")
# Word tokens for shingles and exact keys: a CJK character alone, or a run of other word characters.
TOKEN = re.compile(rf"[{CJK_CHARS}]|[^\W{CJK_CHARS}]+")
LATIN_TOKEN = re.compile(r"\w+")


def has_cjk(text: str) -> bool:
    return not text.isascii() and CJK.search(text) is not None


def count_words(text: str) -> int:
    """Words in any script: whitespace tokens with a letter or digit, and one per CJK character."""
    if text.isascii():
        return len(text.split())
    if CJK.search(text) is None:
        return len(text.split())
    cjk = len(CJK.findall(text))
    rest = CJK.sub(" ", text).split()
    return cjk + sum(1 for t in rest if WORDLIKE.search(t))


def tokens(text: str) -> list[str]:
    """Word tokens for comparing texts (de-duplication): CJK characters one by one."""
    return (TOKEN if has_cjk(text) else LATIN_TOKEN).findall(text)


def token_estimate(text: str) -> float:
    """About four characters a token for English BPE vocabularies and about one a CJK
    character (the build stage counts exactly)."""
    cjk = len(CJK.findall(text)) if has_cjk(text) else 0
    return (len(text) - cjk) / 4 + cjk
