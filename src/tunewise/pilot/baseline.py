"""The "no fine-tune" floor: TF-IDF (word 1-2 grams) + logistic regression, scikit-learn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def fit(texts: list[str], labels: list[str], *, seed: int = 0) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
                         LogisticRegression(max_iter=2000, C=4.0, random_state=seed))
    pipe.fit(texts, labels)
    return pipe


def predict_proba(pipe: Any, texts: list[str], labels: list[str]) -> np.ndarray:
    """Probabilities with columns in ``labels`` order."""
    probs = pipe.predict_proba(texts)
    cols = [list(pipe.classes_).index(lab) for lab in labels]
    return probs[:, cols]


def trainable_params(pipe: Any) -> int:
    clf = pipe[-1]
    return int(clf.coef_.size + clf.intercept_.size)


def save(pipe: Any, out: Path) -> None:
    import joblib

    (out / "model").mkdir(parents=True, exist_ok=True)
    joblib.dump(pipe, out / "model" / "model.joblib")


def load(run_dir: Path) -> Any:
    import joblib

    return joblib.load(Path(run_dir) / "model" / "model.joblib")
