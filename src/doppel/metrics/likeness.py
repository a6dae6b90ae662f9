"""Person-likeness: a character n-gram classifier that tells the person's answers from a model's.

It is trained on the person's real answers and the base model's answers *to the same
questions*, so topic cannot give the answer away: only voice (spelling, punctuation,
favourite words, rhythm) can. Its cross-validated AUC is reported so a weak classifier is
visible. A model's person-likeness is the mean probability "this is the person" over its
answers, divided by the same mean over the person's own held-out answers (which thus score 1.0).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


def _vectorizer():
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    # analyzer="char" (not char_wb) so n-grams span word boundaries and punctuation habits.
    return TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True, lowercase=False,
                           max_features=200_000, dtype=np.float32)


def _linear(seed: int):
    from sklearn.linear_model import SGDClassifier

    # Logistic regression fitted by SGD: the same linear model as LogisticRegression, ten
    # times faster on these wide, nearly separable char-n-gram matrices.
    return SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=30, tol=None, class_weight="balanced",
                         random_state=seed)


def shuffle_words(text: str, rng: random.Random) -> str:
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


@dataclass
class PersonClassifier:
    """Person (1) against other (0) texts.

    With `hard_negatives` the person's own texts with their words shuffled join the other
    class: without them the classifier learns the person's vocabulary alone and rates a
    jumble of her favourite words (what an undertrained model emits) as her.
    """

    seed: int = 0
    hard_negatives: bool = True
    cv_auc: float | None = None
    n_person: int = 0
    n_other: int = 0
    _vec: object = field(default=None, repr=False)
    _model: object = field(default=None, repr=False)

    def fit(self, person: list[str], other: list[str], folds: int = 5) -> "PersonClassifier":
        """Fit; the AUC is cross-validated over the person and other texts (hard negatives in training folds only)."""
        import numpy as np
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import StratifiedKFold

        person = [t for t in person if t.strip()]
        other = [t for t in other if t.strip()]
        if len(person) < 2 or len(other) < 2:
            raise ValueError("the person-likeness classifier needs at least two texts of each kind")
        rng = random.Random(self.seed)
        shuffled = [shuffle_words(t, rng) for t in person] if self.hard_negatives else []
        # The vectorizer never sees labels, so fitting it once on everything leaks nothing
        # about the answer into the cross-validation and saves refitting it per fold.
        self._vec = _vectorizer()
        everything = self._vec.fit_transform(person + other + shuffled)  # one pass over the text
        X = everything[:len(person) + len(other)]
        S = everything[len(person) + len(other):] if shuffled else None
        y = np.array([1] * len(person) + [0] * len(other))
        k = min(folds, len(person), len(other))
        scores, truth = np.zeros(len(y)), y
        for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=self.seed).split(X, y):
            Xt, yt = X[train], y[train]
            if S is not None:
                rows = [i for i in train if i < len(person)]
                Xt, yt = _stack(Xt, S[rows]), np.concatenate([yt, np.zeros(len(rows), dtype=int)])
            scores[test] = _linear(self.seed).fit(Xt, yt).predict_proba(X[test])[:, 1]
        self.cv_auc = round(float(roc_auc_score(truth, scores)), 4)
        Xa, ya = (X, y) if S is None else (_stack(X, S), np.concatenate([y, np.zeros(S.shape[0], dtype=int)]))
        self._model = _linear(self.seed).fit(Xa, ya)
        self.n_person, self.n_other = len(person), len(other)
        return self

    def proba(self, texts: list[str]) -> list[float]:
        """Probability that each text is the person's (empty texts score 0)."""
        if self._model is None:
            raise RuntimeError("fit the classifier first")
        keep = [i for i, t in enumerate(texts) if t.strip()]
        out = [0.0] * len(texts)
        if keep:
            probs = self._model.predict_proba(self._vec.transform([texts[i] for i in keep]))[:, 1]
            for i, p in zip(keep, probs):
                out[i] = float(p)
        return out


def _stack(a, b):
    from scipy.sparse import vstack

    return vstack([a, b]).tocsr()


def person_likeness(clf: PersonClassifier, texts: list[str], person_reference: list[str]) -> dict:
    """Mean person-probability of `texts`, normalised by the person's own held-out answers."""
    probs = clf.proba(texts)
    ref = clf.proba(person_reference)
    mean = sum(probs) / len(probs) if probs else 0.0
    ref_mean = sum(ref) / len(ref) if ref else 0.0
    return {"person_likeness": round(mean / ref_mean, 4) if ref_mean > 0 else None,
            "raw_probability": round(mean, 4), "person_raw_probability": round(ref_mean, 4),
            "probabilities": [round(p, 4) for p in probs]}
