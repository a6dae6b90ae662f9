"""Duplicate removal across documents: exact (same words after normalisation) and near
(MinHash LSH Ensemble over word shingles, then checked exactly).

A document is a near-duplicate of a kept one when at least `threshold` of its word
shingles also occur in it: the same episode uploaded twice with other caption timing, or a
clip cut from a longer episode. Documents are visited in priority order (the caller's:
persona before background, longer before shorter), so the fuller copy is the one kept.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

import numpy as np

from doppel.config import DedupSettings
from doppel.ingest.words import tokens

MIX = np.uint64(0xFF51AFD7ED558CCD)
STEP = np.uint64(1_000_003)
CHUNK = 20_000


def exact_key(text: str) -> str:
    """Documents with the same words in the same order (case and spacing aside) share a key."""
    return hashlib.sha256(" ".join(tokens(text.casefold())).encode()).hexdigest()


class Shingler:
    """Word k-gram shingles as sorted unique 32-bit hashes (stable across runs and machines);
    a CJK character counts as a word."""

    def __init__(self, k: int):
        self.k = k
        self.vocab: dict[str, int] = {}

    def __call__(self, text: str) -> np.ndarray:
        vocab = self.vocab
        ids = []
        for w in tokens(text.casefold()):
            h = vocab.get(w)
            if h is None:
                h = vocab[w] = zlib.crc32(w.encode("utf-8"))
            ids.append(h)
        n = len(ids)
        if n == 0:
            return np.zeros(0, dtype=np.uint32)
        k = min(self.k, n)
        arr = np.asarray(ids, dtype=np.uint64)
        h = np.zeros(n - k + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(k):
                h = h * STEP + arr[j:n - k + 1 + j]
            h ^= h >> np.uint64(33)
            h *= MIX
            h ^= h >> np.uint64(29)
        return np.unique((h & np.uint64(0xFFFFFFFF)).astype(np.uint32))


@dataclass
class NearDuplicate:
    dropped: int  # index into the caller's list
    kept: int
    containment: float


def _minhash(values: np.ndarray, num_perm: int):
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm, seed=7, hashfunc=int)
    for i in range(0, len(values), CHUNK):
        m.update_batch(values[i:i + CHUNK].tolist())
    return m


def near_duplicates(texts: list[str], cfg: DedupSettings) -> list[NearDuplicate]:
    """Near-duplicates among `texts`, which come in priority order (earlier ones are kept)."""
    from datasketch import MinHashLSHEnsemble

    shingler = Shingler(cfg.shingle_words)
    sets = [shingler(t) for t in texts]
    live = [i for i, s in enumerate(sets) if len(s)]
    if len(live) < 2:
        return []
    sketches = {i: _minhash(sets[i], cfg.num_perm) for i in live}
    # The ensemble's estimate misses some true pairs near its threshold (a clip with
    # containment 1.0 was missed at 0.65), so the index asks for half the threshold and
    # every candidate is then checked exactly.
    lsh = MinHashLSHEnsemble(threshold=max(0.05, cfg.threshold / 2), num_perm=cfg.num_perm,
                             num_part=min(16, len(live)))
    lsh.index([(i, sketches[i], len(sets[i])) for i in live])
    kept: set[int] = set()
    found: list[NearDuplicate] = []
    for i in live:
        best, best_c = -1, 0.0
        for j in lsh.query(sketches[i], len(sets[i])):
            if j not in kept:
                continue
            c = len(np.intersect1d(sets[i], sets[j], assume_unique=True)) / len(sets[i])
            if c > best_c or (c == best_c and j < best):
                best, best_c = j, c
        if best >= 0 and best_c >= cfg.threshold:
            found.append(NearDuplicate(i, best, round(best_c, 3)))
        else:
            kept.add(i)
    return found
