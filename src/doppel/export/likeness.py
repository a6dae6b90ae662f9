"""Person-likeness for the parity gate: does a GGUF's answer still sound like the person?

The scorer is the eval stage's classifier as that stage saved it (eval/likeness/, see
`doppel.metrics.likeness_store`), not a fit of its own: an answer gets the person-likeness here
that the ladder gives it. It scores the answers the HF model and each GGUF give to the same
held-out questions; the gate compares the two.
"""

from __future__ import annotations

from typing import Callable

from doppel.workspace import Workspace


def likeness_scorer(ws: Workspace) -> tuple[Callable[[list[str]], float | None] | None, str]:
    """(scorer, note): the scorer maps answers to person-likeness; None with the reason when unavailable.

    A UserError when the eval stage ran but its classifier is missing or from another Doppel.
    """
    from doppel.metrics import likeness_store
    from doppel.metrics.likeness import person_likeness

    folder = ws.eval / likeness_store.FOLDER
    if not (folder / likeness_store.META).exists() and not ws.stage_entry("eval"):
        return None, ("not measured: the eval stage fits the person-likeness classifier and it has not run "
                      "(eval.enabled: false?)")
    clf = likeness_store.load(folder, likeness_store.REFIT)
    if clf is None:
        return None, (f"not measured: the eval stage had too little data to fit the person-likeness classifier "
                      f"(see {folder / likeness_store.META})")

    def score(texts: list[str]) -> float | None:
        return person_likeness(clf, texts)["person_likeness"]  # scaled by the 1.0 the eval stage saved

    return score, f"measured: the eval stage's classifier (eval/likeness/), cross-validated AUC {clf.cv_auc}"
