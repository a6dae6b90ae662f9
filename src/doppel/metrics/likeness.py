"""Person-likeness: a character n-gram classifier that tells the person's answers from a model's.

It is trained on the person's real answers and the base model's answers *to the same
questions*, so topic cannot give the answer away: only voice (spelling, punctuation,
favourite words, rhythm) can. Its cross-validated AUC is reported so a weak classifier is
visible. A model's person-likeness is the mean probability "this is the person" over its
answers, divided by the same mean over the person's own held-out answers (which thus score 1.0).

The person's training answers are split in two halves by a hash of their text (`likeness_half`):
the ladder's classifier (eval stage) learns from one, the RL reward's from the other, so a
policy optimised against its reward is not graded by the very scorer it climbed.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

LADDER, REWARD = "ladder", "reward"  # the two halves of the person's training answers


def likeness_half(text: str) -> str:
    """LADDER or REWARD: a fixed half by the text's hash, so the same answer always lands in the same half."""
    return LADDER if hashlib.sha256(text.strip().encode("utf-8")).digest()[0] % 2 == 0 else REWARD


# analyzer="char" (not char_wb) so n-grams span word boundaries and punctuation habits.
FEATURES = {"analyzer": "char", "ngram_range": (2, 4), "sublinear_tf": True, "lowercase": False}


def _vectorizer(terms: list[str] | None = None, idf=None):
    """A fresh vectorizer, or (given `terms` and `idf`) the one a fit produced, rebuilt from its parameters."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    if terms is None:
        return TfidfVectorizer(**FEATURES, max_features=200_000, dtype=np.float32)
    vec = TfidfVectorizer(**FEATURES, vocabulary={t: i for i, t in enumerate(terms)}, dtype=np.float32)
    vec.idf_ = idf
    return vec


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
    # Mean person-probability of the person's held-out answers: the 1.0 of person_likeness
    # when no reference texts are given (set by whoever fits it, saved with it).
    reference_probability: float | None = None
    _vec: object = field(default=None, repr=False)
    _coef: object = field(default=None, repr=False)  # the linear model's weights, one per n-gram
    _intercept: float = 0.0

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
        model = _linear(self.seed).fit(Xa, ya)
        self._coef, self._intercept = np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0])
        self.n_person, self.n_other = len(person), len(other)
        return self

    def proba(self, texts: list[str]) -> list[float]:
        """Probability that each text is the person's (empty texts score 0)."""
        from scipy.special import expit

        if self._coef is None:
            raise RuntimeError("fit the classifier first")
        keep = [i for i, t in enumerate(texts) if t.strip()]
        out = [0.0] * len(texts)
        if keep:
            # The logistic model's probability, computed here (not by sklearn) so a fitted and a
            # loaded classifier take the very same steps and give the very same numbers.
            probs = expit(self._vec.transform([texts[i] for i in keep]) @ self._coef + self._intercept)
            for i, p in zip(keep, probs):
                out[i] = float(p)
        return out

    def parameters(self) -> dict:
        """What a fit produced, as plain arrays and lists (saved by doppel.metrics.likeness_store)."""
        import numpy as np

        if self._coef is None:
            raise RuntimeError("fit the classifier first")
        vocab = self._vec.vocabulary_
        terms = sorted(vocab, key=vocab.__getitem__)
        return {"terms": terms, "idf": np.asarray(self._vec.idf_), "coef": self._coef,
                "intercept": np.array([self._intercept])}

    @classmethod
    def from_parameters(cls, params: dict, **fields) -> "PersonClassifier":
        """The classifier `parameters()` describes; `fields` are its counts, AUC, seed."""
        clf = cls(**fields)
        clf._vec = _vectorizer(list(params["terms"]), params["idf"])
        clf._coef, clf._intercept = params["coef"], float(params["intercept"][0])
        return clf


def _stack(a, b):
    from scipy.sparse import vstack

    return vstack([a, b]).tocsr()


def mean_probability(clf: PersonClassifier, texts: list[str]) -> float:
    """The mean person-probability of `texts`: over the person's held-out answers, person-likeness's 1.0."""
    probs = clf.proba(texts)
    return sum(probs) / len(probs) if probs else 0.0


def person_likeness(clf: PersonClassifier, texts: list[str], person_reference: list[str] | None = None) -> dict:
    """Mean person-probability of `texts`, normalised by the person's own held-out answers
    (without them, by the classifier's `reference_probability`)."""
    probs = clf.proba(texts)
    mean = sum(probs) / len(probs) if probs else 0.0
    if person_reference is None:
        ref_mean = clf.reference_probability or 0.0
    else:
        ref_mean = mean_probability(clf, person_reference)
    return {"person_likeness": round(mean / ref_mean, 4) if ref_mean > 0 else None,
            "raw_probability": round(mean, 4), "person_raw_probability": round(ref_mean, 4),
            "probabilities": [round(p, 4) for p in probs]}
