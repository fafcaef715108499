"""Drift tests with the Evidently/NannyML defaults in statistics.md.

Per feature: reference n <= 1000 -> two-sample KS (numeric), chi-square test of homogeneity
(categorical; sparse categories pooled, Fisher's exact test when cells stay small) or Z test (binary),
Holm-corrected across the features at alpha 0.05 (features nearly identical on the reference are
tested once); reference n > 1000 -> normed Wasserstein >= 0.1 (numeric) or Jensen-Shannon
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
MIN_EXPECTED = 5               # chi-square / Z approximation needs expected cell counts >= 5
REDUNDANT_RHO = 0.95           # |Spearman| on the reference at which two features count as one
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
        out.update(_two_sample_categorical(rc, cc))
    else:
        d = float(jensenshannon(rp, cp))
        out.update(test="jensen_shannon", statistic=d, threshold=JS_THRESHOLD, drifted=bool(d >= JS_THRESHOLD))
    p = _psi_from_props(rp, cp)
    out.update(psi=p, psi_band=psi_band(p))
    return out


def _two_sample_categorical(rc, cc) -> dict[str, object]:  # noqa: ANN001
    """Reference and current counts are both samples: a 2 x k test of homogeneity. Two categories: the
    two-proportion Z test while every expected cell count is >= 5, else Fisher's exact test. More: the
    chi-square test with categories whose expected count is < 5 pooled into one cell (the chi-square
    approximation needs expected counts >= 5); Fisher's exact test when pooling leaves two cells."""
    import numpy as np
    from scipy import stats

    table = np.vstack([rc, cc])
    table = table[:, table.sum(0) > 0]
    pooled_note = None
    if table.shape[1] > 2:
        expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
        sparse = expected.min(0) < MIN_EXPECTED
        if sparse.any():
            pooled_note = f"{int(sparse.sum())} categories with an expected count < {MIN_EXPECTED} pooled"
            kept = table[:, ~sparse]
            table = np.hstack([kept, table[:, sparse].sum(1, keepdims=True)]) if sparse.sum() else kept
            table = table[:, table.sum(0) > 0]
            exp_other = np.outer(table.sum(1), table.sum(0)) / table.sum()
            if table.shape[1] > 2 and exp_other[:, -1].min() < MIN_EXPECTED:
                # the pooled cell is still sparse: merge it into the smallest other category
                j = int(np.argmin(table[:, :-1].sum(0)))
                table[:, j] += table[:, -1]
                table = table[:, :-1]
    if table.shape[1] < 2:
        return {"test": "one_category", "statistic": 0.0, "p_value": 1.0, "threshold": ALPHA, "drifted": False,
                "note": "both samples hold the same single category"}
    out: dict[str, object] = {"threshold": ALPHA}
    if pooled_note:
        out["note"] = pooled_note
    expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
    if table.shape[1] == 2 and expected.min() < MIN_EXPECTED:
        res = stats.fisher_exact(table)
        out.update(test="fisher_exact", statistic=float(res.statistic), p_value=float(res.pvalue))
    elif table.shape[1] == 2:
        n1, n2 = table.sum(1)
        p1, p2 = table[0, 0] / n1, table[1, 0] / n2
        pooled = table[:, 0].sum() / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (p2 - p1) / se
        out.update(test="z", statistic=float(z), p_value=float(2 * stats.norm.sf(abs(z))))
    else:
        chi2, pval, _, _ = stats.chi2_contingency(table, correction=False)
        out.update(test="chi_square", statistic=float(chi2), p_value=float(pval))
    out["drifted"] = bool(out["p_value"] < ALPHA)
    return out


def holm(features: list[dict[str, object]], alpha: float = ALPHA) -> list[dict[str, object]]:
    """Holm's step-down correction over the features tested by a p-value (KS, Z, chi-square, Fisher):
    the chance that any of them alarms on a window without drift stays <= ``alpha``. Each gets
    ``p_adjusted`` and ``drifted`` from it; distance rules (Wasserstein, Jensen-Shannon) are untouched."""
    tested = [f for f in features if f.get("p_value") is not None and f.get("drifted") is not None]
    m = len(tested)
    running = 0.0
    for rank, f in enumerate(sorted(tested, key=lambda f: float(f["p_value"]))):
        running = max(running, min(1.0, (m - rank) * float(f["p_value"])))
        f["p_adjusted"] = running
        f["drifted"] = bool(running < alpha)
        f["correction"] = f"Holm over {m} tests"
    return features


def redundant(table: dict[str, Sequence[float]], *, prefer: Sequence[str] = (), threshold: float = REDUNDANT_RHO
              ) -> list[dict[str, object]]:
    """Features nearly identical to one already kept (|Spearman rho| >= ``threshold`` on the reference),
    in the order ``prefer`` then the table's; testing both would count one shift twice."""
    import numpy as np
    from scipy import stats

    order = [n for n in prefer if n in table] + [n for n in table if n not in prefer]
    kept: list[str] = []
    dropped = []
    for name in order:
        x = np.asarray(table[name], dtype=float)
        twin = None
        for k in kept:
            y = np.asarray(table[k], dtype=float)
            if x.std() == 0 or y.std() == 0:
                continue
            rho = float(stats.spearmanr(x, y).statistic)
            if abs(rho) >= threshold:
                twin = (k, rho)
                break
        if twin is None:
            kept.append(name)
        else:
            dropped.append({"feature": name, "same_as": twin[0], "spearman": round(twin[1], 4)})
    return dropped


def random_auc_p95(n_ref: int, n_cur: int) -> float:
    """95th percentile of the ROC AUC a random scorer reaches on n_ref vs n_cur items (Mann-Whitney
    normal approximation: sd = sqrt((n0 + n1 + 1) / (12 n0 n1)))."""
    return 0.5 + 1.6449 * math.sqrt((n_ref + n_cur + 1) / (12 * n_ref * n_cur))


def _cv_auc(X, y, groups, seed: int, repeats: int = 3) -> float | None:  # noqa: ANN001
    """Out-of-fold ROC AUC, averaged over ``repeats`` shuffles of 5-fold CV. Identical texts share a
    group, so a text and its copy are never split between training and scoring (a current window
    that repeats reference texts is not 'recognised' by memorisation)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y)
    g = np.asarray(groups)
    distinct = min(len(set(g[y == 1].tolist())), len(set(g[y == 0].tolist())))
    if distinct < 2:
        return None          # one distinct text on a side: nothing to cross-validate
    folds = max(2, min(5, distinct))
    aucs = []
    for r in range(repeats):
        proba = np.zeros(len(y))
        cv = StratifiedGroupKFold(folds, shuffle=True, random_state=seed + r)
        for train, test in cv.split(X, y, groups):
            clf = LogisticRegression(max_iter=1000, class_weight="balanced").fit(X[train], y[train])
            proba[test] = clf.predict_proba(X[test])[:, 1]
        aucs.append(roc_auc_score(y, proba))
    return float(np.mean(aucs))


def _decide(out: dict[str, object], auc: float | None, n_ref: int, n_cur: int) -> dict[str, object]:
    if auc is None:
        return {**out, "statistic": None, "drifted": None,
                "note": "fewer than two distinct texts on one side: the classifier cannot be cross-validated"}
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
