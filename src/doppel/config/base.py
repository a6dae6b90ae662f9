"""Shared pieces of the config models: strict models and speaker-name matching."""

from __future__ import annotations

import functools
import re
import unicodedata

from pydantic import BaseModel, ConfigDict


@functools.lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """A speaker label for matching: accents, case and punctuation ignored; initials joined.

    'Dr. José Ruiz' -> 'dr jose ruiz'; 'J.R.', 'J. R.' and 'JR' -> 'jr'; '>> JANE:' -> 'jane'.
    """
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    words = re.sub(r"[\W_]+", " ", plain.casefold()).split()
    if len(words) > 1 and all(len(w) == 1 for w in words):
        return "".join(words)
    return " ".join(words)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
