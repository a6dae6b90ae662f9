"""Language identification (py3langid, offline; 97 languages) on a sample of a document."""

from __future__ import annotations

from functools import lru_cache

SAMPLE_CHARS = 1500


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability) from up to three windows spread over the text."""
    n = len(text)
    if n <= 3 * SAMPLE_CHARS:
        sample = text
    else:
        mid = n // 2
        sample = " ".join((text[:SAMPLE_CHARS], text[mid:mid + SAMPLE_CHARS], text[-SAMPLE_CHARS:]))
    code, prob = _identifier().classify(sample)
    return code, float(prob)
