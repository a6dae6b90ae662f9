"""Benchmark: every pure-text metric of the eval stage on 1,000 answers (target: at most 10 s).

    .venv/bin/python bench/eval.py [--answers 1000]

Answers are generated text in the demo persona's and the background voice (half each);
the person-likeness classifier is fitted (with its cross-validation) on 150 + 150 answers,
as the eval stage does, and then scores all 1,000. Prints seconds per metric and the total.
"""

from __future__ import annotations

import argparse
import random
import time


def texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    from doppel.demo import background, persona

    rng = random.Random(seed)
    mine = [t for s, t in persona.interview(rng, list(persona.TOPICS), n, "Mara") if s == "Mara"][:n]
    other = [t for s, t in background.interview(rng, list(background.SHARED_TOPICS), n) if s == "Guest"][:n]
    return mine, other


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=1000)
    args = parser.parse_args()

    from doppel.demo import DEMO_PERSONA as P
    from doppel.metrics.delta import DeltaProfile
    from doppel.metrics.diversity import diversity_report, overused_phrases
    from doppel.metrics.identity import identity_accuracy, probe_set
    from doppel.metrics.likeness import PersonClassifier, person_likeness
    from doppel.metrics.phrases import phrase_rate

    mine, other = texts(args.answers // 2, 1)
    answers = [t for pair in zip(mine, other) for t in pair][:args.answers]
    person_train, base_train = texts(150, 2)
    reference, _ = texts(60, 3)
    probes = probe_set(P.name)
    probe_answers = [f"I'm {P.name}, and I keep the lamp lit." for _ in probes]
    words = sum(len(a.split()) for a in answers)

    timings = {}
    start = time.perf_counter()
    t = time.perf_counter()
    clf = PersonClassifier(seed=0).fit(person_train, base_train)
    timings["likeness: fit + 5-fold CV (300 texts)"] = time.perf_counter() - t
    t = time.perf_counter()
    like = person_likeness(clf, answers, reference)
    timings[f"likeness: score {len(answers)}"] = time.perf_counter() - t
    t = time.perf_counter()
    profile = DeltaProfile.build(reference, base_train + person_train)
    delta = profile.delta(answers)
    timings["Delta: profile + score"] = time.perf_counter() - t
    t = time.perf_counter()
    div = diversity_report(answers, reference + person_train)
    timings["distinct-1/2, rep-4 (matched)"] = time.perf_counter() - t
    t = time.perf_counter()
    over = overused_phrases(answers, reference + person_train)
    timings["over-used phrases (1-3-grams)"] = time.perf_counter() - t
    t = time.perf_counter()
    ident = identity_accuracy(probes, probe_answers, P.name, list(P.aliases))
    rate = phrase_rate(answers, list(P.catchphrases))
    timings["identity + catch-phrases"] = time.perf_counter() - t
    total = time.perf_counter() - start

    print(f"{len(answers)} answers, {words} words")
    for name, secs in timings.items():
        print(f"  {name:42s} {secs:6.2f} s")
    print(f"  {'total':42s} {total:6.2f} s  (target ≤ 10 s: {'PASS' if total <= 10 else 'FAIL'})")
    print(f"classifier AUC {clf.cv_auc}; person-likeness {like['person_likeness']}; Delta {delta['delta']}; "
          f"distinct-2 ratio {div['distinct_2_ratio']}; rep-4 ratio {div['rep4_ratio']}; "
          f"top phrase {over[0]['phrase'] if over else None}; identity {ident['identity_accuracy']}; "
          f"catch-phrases/1k {rate:.1f}")


if __name__ == "__main__":
    main()
