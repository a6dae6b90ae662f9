"""Pairwise comparisons (judge or human votes): win rates with bootstrap intervals, Bradley–Terry.

A comparison is (model_a, model_b, outcome) with outcome 1.0 when a wins, 0.0 when b wins
and 0.5 for a tie. Ties count half a win to each side.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict

Comparison = tuple[str, str, float]


def win_rates(comparisons: list[Comparison], samples: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Per model: share of its comparisons won (ties half), with a 95% bootstrap interval."""
    models = sorted({m for a, b, _ in comparisons for m in (a, b)})
    rng = random.Random(seed)

    def rate(rows: list[Comparison], model: str) -> float | None:
        score, n = 0.0, 0
        for a, b, o in rows:
            if a == model:
                score, n = score + o, n + 1
            elif b == model:
                score, n = score + 1.0 - o, n + 1
        return score / n if n else None

    boot: dict[str, list[float]] = defaultdict(list)
    for _ in range(samples if comparisons else 0):
        rows = [comparisons[rng.randrange(len(comparisons))] for _ in comparisons]
        for m in models:
            r = rate(rows, m)
            if r is not None:
                boot[m].append(r)
    out = {}
    for m in models:
        values = sorted(boot[m])
        lo = values[int(0.025 * (len(values) - 1))] if values else None
        hi = values[int(0.975 * (len(values) - 1))] if values else None
        n = sum(1 for a, b, _ in comparisons if m in (a, b))
        out[m] = {"win_rate": round(rate(comparisons, m), 4), "ci_low": round(lo, 4) if lo is not None else None,
                  "ci_high": round(hi, 4) if hi is not None else None, "comparisons": n}
    return out


def bradley_terry(comparisons: list[Comparison], iterations: int = 200, prior: float = 0.5) -> dict[str, float]:
    """Bradley–Terry strengths by the MM algorithm, as log-strengths centred on 0.

    `prior` adds that many virtual ties of each model against every other, which keeps a
    model that never lost (or never won) at a finite strength.
    """
    models = sorted({m for a, b, _ in comparisons for m in (a, b)})
    if not models:
        return {}
    wins: dict[str, float] = defaultdict(float)
    games: dict[tuple[str, str], float] = defaultdict(float)
    for a, b, o in comparisons:
        wins[a] += o
        wins[b] += 1.0 - o
        games[tuple(sorted((a, b)))] += 1.0
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            wins[a] += prior / 2
            wins[b] += prior / 2
            games[(a, b)] += prior
    p = {m: 1.0 for m in models}
    for _ in range(iterations):
        new = {}
        for m in models:
            denom = sum(n / (p[m] + p[o]) for (x, y), n in games.items() if m in (x, y)
                        for o in [y if x == m else x])
            new[m] = wins[m] / denom if denom else p[m]
        mean_log = sum(math.log(v) for v in new.values()) / len(new)
        p = {m: math.exp(math.log(v) - mean_log) for m, v in new.items()}
    return {m: round(math.log(v), 4) for m, v in p.items()}


def bradley_terry_ci(comparisons: list[Comparison], samples: int = 200, seed: int = 0) -> dict[str, dict]:
    """Strengths with 95% bootstrap intervals (comparisons resampled with replacement)."""
    point = bradley_terry(comparisons)
    rng = random.Random(seed)
    boot: dict[str, list[float]] = defaultdict(list)
    for _ in range(samples if comparisons else 0):
        rows = [comparisons[rng.randrange(len(comparisons))] for _ in comparisons]
        for m, v in bradley_terry(rows, iterations=60).items():
            boot[m].append(v)
    out = {}
    for m, v in point.items():
        values = sorted(boot[m])
        out[m] = {"strength": v, "ci_low": values[int(0.025 * (len(values) - 1))] if values else None,
                  "ci_high": values[int(0.975 * (len(values) - 1))] if values else None}
    return out
