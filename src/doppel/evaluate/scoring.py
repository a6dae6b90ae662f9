"""Text metrics for every model of the ladder, against the person's own held-out words."""

from __future__ import annotations

from pathlib import Path

from doppel.config import PersonaConfig
from doppel.evaluate.ladder import ModelRun
from doppel.metrics.delta import DeltaProfile
from doppel.metrics.diversity import diversity_report, overused_phrases
from doppel.metrics.identity import Probe, bare_probe_set, identity_accuracy
from doppel.metrics.likeness import LADDER, PersonClassifier, mean_probability, person_likeness
from doppel.metrics.likeness_store import save
from doppel.metrics.phrases import phrase_rate


def fit_classifier(rows: list[dict], seed: int) -> PersonClassifier | None:
    """The person's real answers against other voices, from rows of eval/likeness/answers.jsonl.

    Each row has the person's answer to a training question ("person") and the base model's
    answer to it ("base"); also, where measured, the prompted base's ("prompted") and the
    question itself, another speaker's turn ("question"). Negatives beyond the base model's
    answers keep a model that merely drifts away from the base from scoring as the person.
    """
    person = _person(rows)
    if len(person) < 4:
        return None
    other = [r[k] for k in NEGATIVES for r in rows if (r.get(k) or "").strip()]
    return PersonClassifier(seed=seed).fit(person, other)


def _person(rows: list[dict]) -> list[str]:
    """The person's answers that have the base model's answer to the same question beside them."""
    return [r["person"] for r in rows if r.get("person", "").strip() and r.get("base", "").strip()]


# The "not the person" side of the classifier, by where the text comes from.
NEGATIVES = ("base", "prompted", "question")


def fit_and_save(rows: list[dict], references: list[str], seed: int,
                 folder: Path) -> tuple[PersonClassifier | None, list[Path]]:
    """The ladder's classifier, fitted once and saved in `folder` (eval/likeness/) for export and eval_gguf.

    Its 1.0 (the mean probability of the person's held-out answers, `references`) is saved with it,
    so a loaded classifier gives the same person-likeness as this one on the same texts.
    """
    clf = fit_classifier(rows, seed)
    if clf is not None:
        clf.reference_probability = mean_probability(clf, references)
    person = len(_person(rows))
    fitted_on = {"seed": seed, "person_from": f"data/sft/train.jsonl, answers in the '{LADDER}' half (the RL "
                                              f"reward's classifier learns from the other half)",
                 "person_answers": person,
                 "negatives": {k: sum(1 for r in rows if (r.get(k) or "").strip()) for k in NEGATIVES}}
    if clf is None:
        fitted_on["not_fitted"] = f"{person} person answers with a base model answer beside them; at least 4 needed"
    return clf, save(folder, clf, rows, fitted_on)


def score_runs(runs: list[ModelRun], persona: PersonaConfig, references: list[str], person_text: list[str],
               delta_reference: list[str], probes: list[Probe], clf: PersonClassifier | None) -> dict:
    """Per model label: the metric row (held-out perplexities from the run included)."""
    person_pool = references + person_text
    profile = DeltaProfile.build(person_pool, delta_reference)
    rows = {}
    for run in runs:
        texts = [a["answer"] for a in run.answers]
        row = {"model": run.describe, **run.row}
        if clf is not None:
            pl = person_likeness(clf, texts, references)
            row["person_likeness"] = pl["person_likeness"]
            row["person_probability"] = pl["raw_probability"]
            row["_likeness_distribution"] = pl["probabilities"]
        else:
            row["person_likeness"] = None
        d = profile.delta(texts)
        row["delta"], row["delta_pooled_words"] = d["delta"], d["pooled_words"]
        div = diversity_report(texts, person_pool)
        row.update({k: div[k] for k in ("distinct_1", "distinct_2", "rep4", "distinct_1_ratio",
                                        "distinct_2_ratio", "rep4_ratio", "matched_words")})
        row["overused_phrases"] = overused_phrases(texts, person_pool, top=8)
        row["catchphrases_per_1k_words"] = round(phrase_rate(texts, persona.catchphrases), 2)
        if probes and run.probes:
            ident = identity_accuracy(probes, run.probes, persona.name, persona.aliases)
            row["identity_accuracy"], row["identity_reasons"] = ident["identity_accuracy"], ident["reasons"]
        else:
            row["identity_accuracy"] = None
        if run.bare_probes:
            bare = identity_accuracy(bare_probe_set(), run.bare_probes, persona.name, persona.aliases)
            row["identity_no_system"] = bare["identity_accuracy"]
        row["answers"] = len(texts)
        rows[run.label] = row
    return rows


def reference_row(persona: PersonaConfig, references: list[str], person_text: list[str],
                  clf: PersonClassifier | None) -> dict:
    """The person's own held-out answers, scored the same way (the targets of each ratio)."""
    row = {"catchphrases_per_1k_words": round(phrase_rate(references, persona.catchphrases), 2),
           "answers": len(references), "person_likeness": 1.0 if clf is not None else None,
           "delta": 0.0}
    if clf is not None:
        row["classifier_cv_auc"] = clf.cv_auc
        row["classifier_training"] = {"person": clf.n_person, "other": clf.n_other,
                                      "other_from": list(NEGATIVES)}
        row["_likeness_distribution"] = [round(p, 4) for p in clf.proba(references)]
    return row
