"""Drift tests with the Evidently/NannyML defaults in statistics.md.

Per feature: reference n <= 1000 -> two-sample KS (numeric), chi-square (categorical) or Z test
(binary) at alpha 0.05; reference n > 1000 -> normed Wasserstein >= 0.1 (numeric) or Jensen-Shannon
distance >= 0.1 (categorical). PSI is reported beside every test with bands 0.1 / 0.25. Dataset drift
when >= 50% of the features drift. Text: a domain classifier (TF-IDF + logistic regression) told to
separate reference from current; drift when its cross-validated ROC AUC > 0.55. Embeddings: the same
classifier on the pilot encoder's embeddings.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

ALPHA = 0.05
SMALL_N = 1000
WASSERSTEIN_THRESHOLD = 0.1
JS_THRESHOLD = 0.1
PSI_BANDS = (0.1, 0.25)
DATASET_DRIFT_SHARE = 0.5
DOMAIN_AUC_THRESHOLD = 0.55
MIN_CURRENT = 20
_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class Vocabulary:
    """Word counts of the reference texts, for out-of-vocabulary rates without a self-seen bias.

    A text that is itself part of the reference is measured against the *other* reference texts
    (leave-one-out); any other text against all of them. So reference texts and new texts from the
    same source get the same OOV distribution: a word counts as known when some other text has it.
    Measuring reference texts against a vocabulary that contains their own words would make every
    window of fresh, in-distribution traffic look out-of-vocabulary.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.counts = Counter(w for t in texts for w in words(t))
        self.members = frozenset(texts)

    def oov_rate(self, text: str) -> float:
        ws = words(text)
        if not ws:
            return 0.0
        own = Counter(ws) if text in self.members else Counter()
        return sum(self.counts.get(w, 0) - own[w] < 1 for w in ws) / len(ws)


def psi(ref: Sequence[float], cur: Sequence[float], bins: int = 10) -> float:
    """Population stability index over reference-quantile bins."""
    import numpy as np

    r, c = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    edges = np.unique(np.quantile(r, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([r.min() - 0.5, r.max() + 0.5])
    edges[0], edges[-1] = -np.inf, np.inf
    rp = np.histogram(r, edges)[0] / len(r)
    cp = np.histogram(c, edges)[0] / len(c)
    return _psi_from_props(rp, cp)


def _psi_from_props(rp, cp) -> float:  # noqa: ANN001
    import numpy as np

    eps = 1e-4
    rp, cp = np.clip(rp, eps, None), np.clip(cp, eps, None)
    return float(np.sum((cp - rp) * np.log(cp / rp)))


def psi_band(value: float) -> str:
    return "none" if value < PSI_BANDS[0] else ("moderate" if value < PSI_BANDS[1] else "significant")


def numeric_drift(name: str, ref: Sequence[float], cur: Sequence[float]) -> dict[str, object]:
    import numpy as np
    from scipy import stats

    r, c = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    out: dict[str, object] = {"feature": name, "kind": "numeric", "n_ref": len(r), "n_cur": len(c),
                              "ref_mean": float(r.mean()), "cur_mean": float(c.mean()) if len(c) else None}
    if len(c) < MIN_CURRENT:
        return {**out, "test": None, "drifted": None, "note": f"fewer than {MIN_CURRENT} current values"}
    if len(r) <= SMALL_N:
        res = stats.ks_2samp(r, c)
        out.update(test="ks", statistic=float(res.statistic), p_value=float(res.pvalue), threshold=ALPHA,
                   drifted=bool(res.pvalue < ALPHA))
    else:
        scale = float(r.std()) or 1.0
        d = float(stats.wasserstein_distance(r, c)) / scale
        out.update(test="wasserstein_normed", statistic=d, threshold=WASSERSTEIN_THRESHOLD,
                   drifted=bool(d >= WASSERSTEIN_THRESHOLD))
    p = psi(r, c)
    out.update(psi=p, psi_band=psi_band(p))
    return out


def categorical_drift(name: str, ref: Sequence[str], cur: Sequence[str]) -> dict[str, object]:
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    cats = sorted(set(ref) | set(cur))
    rc = np.array([sum(1 for x in ref if x == k) for k in cats], dtype=float)
    cc = np.array([sum(1 for x in cur if x == k) for k in cats], dtype=float)
    out: dict[str, object] = {"feature": name, "kind": "categorical", "n_ref": int(rc.sum()), "n_cur": int(cc.sum()),
                              "ref_share": dict(zip(cats, (rc / max(rc.sum(), 1)).round(4).tolist(), strict=True)),
                              "cur_share": dict(zip(cats, (cc / max(cc.sum(), 1)).round(4).tolist(), strict=True))}
    if cc.sum() < MIN_CURRENT:
        return {**out, "test": None, "drifted": None, "note": f"fewer than {MIN_CURRENT} current values"}
    rp, cp = rc / rc.sum(), cc / cc.sum()
    if rc.sum() <= SMALL_N:
        if len(cats) <= 2:
            # two-proportion Z test on the first category
            n1, n2 = rc.sum(), cc.sum()
            pooled = (rc[0] + cc[0]) / (n1 + n2)
            se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) if 0 < pooled < 1 else 0.0
            z = (cp[0] - rp[0]) / se if se else 0.0
            pval = float(2 * stats.norm.sf(abs(z)))
            out.update(test="z", statistic=float(z), p_value=pval, threshold=ALPHA, drifted=bool(pval < ALPHA))
        else:
            expected = np.clip(rp, 1e-6, None) * cc.sum()
            expected = expected * cc.sum() / expected.sum()
            res = stats.chisquare(cc, expected)
            out.update(test="chi_square", statistic=float(res.statistic), p_value=float(res.pvalue),
                       threshold=ALPHA, drifted=bool(res.pvalue < ALPHA))
    else:
        d = float(jensenshannon(rp, cp))
        out.update(test="jensen_shannon", statistic=d, threshold=JS_THRESHOLD, drifted=bool(d >= JS_THRESHOLD))
    p = _psi_from_props(rp, cp)
    out.update(psi=p, psi_band=psi_band(p))
    return out


def random_auc_p95(n_ref: int, n_cur: int) -> float:
    """95th percentile of the ROC AUC a random scorer reaches on n_ref vs n_cur items (Mann-Whitney
    normal approximation: sd = sqrt((n0 + n1 + 1) / (12 n0 n1)))."""
    return 0.5 + 1.6449 * math.sqrt((n_ref + n_cur + 1) / (12 * n_ref * n_cur))


def _cv_auc(X, y, groups, seed: int, repeats: int = 3) -> float:  # noqa: ANN001
    """Out-of-fold ROC AUC, averaged over ``repeats`` shuffles of 5-fold CV. Identical texts share a
    group, so a text and its copy are never split between training and scoring (a current window
    that repeats reference texts is not 'recognised' by memorisation)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y)
    folds = max(2, min(5, int(min(y.sum(), len(y) - y.sum()))))
    aucs = []
    for r in range(repeats):
        proba = np.zeros(len(y))
        cv = StratifiedGroupKFold(folds, shuffle=True, random_state=seed + r)
        for train, test in cv.split(X, y, groups):
            clf = LogisticRegression(max_iter=1000, class_weight="balanced").fit(X[train], y[train])
            proba[test] = clf.predict_proba(X[test])[:, 1]
        aucs.append(roc_auc_score(y, proba))
    return float(np.mean(aucs))


def _decide(out: dict[str, object], auc: float, n_ref: int, n_cur: int) -> dict[str, object]:
    floor = random_auc_p95(n_ref, n_cur)
    threshold = max(DOMAIN_AUC_THRESHOLD, floor)
    return {**out, "statistic": auc, "random_auc_p95": floor, "effective_threshold": threshold,
            "drifted": bool(auc > threshold)}


def domain_classifier(ref_texts: Sequence[str], cur_texts: Sequence[str], *, seed: int = 0,
                      max_per_side: int = 1000) -> dict[str, object]:
    """TF-IDF + logistic regression separating reference from current; cross-validated ROC AUC.
    Drift when the AUC exceeds 0.55 and the 95th percentile a random scorer reaches at these sizes."""
    import random

    from sklearn.feature_extraction.text import TfidfVectorizer

    out: dict[str, object] = {"feature": "text", "kind": "domain_classifier", "test": "roc_auc",
                              "threshold": DOMAIN_AUC_THRESHOLD, "n_ref": len(ref_texts), "n_cur": len(cur_texts)}
    if len(cur_texts) < MIN_CURRENT:
        return {**out, "statistic": None, "drifted": None, "note": f"fewer than {MIN_CURRENT} current texts"}
    rng = random.Random(seed)
    ref = rng.sample(list(ref_texts), min(len(ref_texts), max_per_side))
    cur = rng.sample(list(cur_texts), min(len(cur_texts), max_per_side))
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, max_features=50000)
    X = vec.fit_transform(ref + cur).tocsr()
    y = [0] * len(ref) + [1] * len(cur)
    groups = _groups(ref + cur)
    return _decide(out, _cv_auc(X, y, groups, seed), len(ref), len(cur))


def _groups(texts: Sequence[str]) -> list[int]:
    ids: dict[str, int] = {}
    return [ids.setdefault(t, len(ids)) for t in texts]


def embedding_drift(ref_emb, cur_emb, *, seed: int = 0, ref_texts=None, cur_texts=None) -> dict[str, object]:  # noqa: ANN001
    """Domain classifier on encoder embeddings (same decision rule), plus the centroid cosine distance."""
    import numpy as np

    r, c = np.asarray(ref_emb, dtype=float), np.asarray(cur_emb, dtype=float)
    out: dict[str, object] = {"feature": "embedding", "kind": "embedding_classifier", "test": "roc_auc",
                              "threshold": DOMAIN_AUC_THRESHOLD, "n_ref": len(r), "n_cur": len(c)}
    if len(c) < MIN_CURRENT:
        return {**out, "statistic": None, "drifted": None, "note": f"fewer than {MIN_CURRENT} current texts"}
    X = np.vstack([r, c])
    y = [0] * len(r) + [1] * len(c)
    groups = _groups(list(ref_texts) + list(cur_texts)) if ref_texts is not None and cur_texts is not None \
        else list(range(len(y)))
    mr, mc = r.mean(0), c.mean(0)
    cos = 1 - float(mr @ mc / (np.linalg.norm(mr) * np.linalg.norm(mc) + 1e-12))
    return {**_decide(out, _cv_auc(X, y, groups, seed), len(r), len(c)), "centroid_cosine_distance": cos}


def dataset_drift(features: list[dict[str, object]]) -> dict[str, object]:
    tested = [f for f in features if f.get("drifted") is not None]
    drifted = [f["feature"] for f in tested if f["drifted"]]
    share = len(drifted) / len(tested) if tested else None
    return {"features_tested": len(tested), "features_drifted": drifted, "share": share,
            "threshold": DATASET_DRIFT_SHARE,
            "dataset_drift": None if share is None else bool(share >= DATASET_DRIFT_SHARE)}
