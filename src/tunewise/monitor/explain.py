"""What a drifted window says that the reference does not: the words and word pairs that most separate
the two, and the window's texts that carry the most of them.

Each term (a word or a pair of adjacent words) gets the log-odds ratio of its rate in the window vs
the reference with an informative Dirichlet prior (Monroe, Colaresi and Quinn 2008, "Fightin' Words"):
the prior is the pooled rate of the term over both samples, scaled to ``PRIOR_WORDS`` pseudo-counts,
which shrinks rare terms toward "no difference" instead of ranking every hapax first. Terms are
ranked by the z-score (log-odds / its standard error). Positive: more frequent in the window;
negative: the reference's terms the window lacks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from tunewise.monitor.drift import words

PRIOR_WORDS = 500.0
MIN_COUNT = 3            # pooled occurrences for a term to be ranked
TOP = 10
EXAMPLES = 3
EXAMPLE_CHARS = 240


def terms(text: str) -> list[str]:
    ws = words(text)
    return ws + [f"{a} {b}" for a, b in zip(ws, ws[1:])]


def explain(ref_texts: Sequence[str], cur_texts: Sequence[str], *, top: int = TOP,
            examples: int = EXAMPLES) -> dict[str, object]:
    """Top terms of the window and of the reference by prior-smoothed log-odds z-score, plus the window
    texts with the highest summed z of their over-represented terms."""
    method = ("log-odds ratio with an informative Dirichlet prior (pooled rates, "
              f"{PRIOR_WORDS:g} pseudo-counts), ranked by z; words and word pairs")
    if not cur_texts or not ref_texts:
        return {"window_terms": [], "reference_terms": [], "examples": [], "method": method}
    rc, cc = Counter(), Counter()
    for t in ref_texts:
        rc.update(terms(t))
    for t in cur_texts:
        cc.update(terms(t))
    n_r, n_c = sum(rc.values()), sum(cc.values())
    pooled = rc + cc
    n_p = n_r + n_c
    scored = []
    for w, k in pooled.items():
        if k < MIN_COUNT:
            continue
        a = PRIOR_WORDS * k / n_p
        yc, yr = cc.get(w, 0), rc.get(w, 0)
        delta = (math.log((yc + a) / (n_c + PRIOR_WORDS - yc - a))
                 - math.log((yr + a) / (n_r + PRIOR_WORDS - yr - a)))
        z = delta / math.sqrt(1 / (yc + a) + 1 / (yr + a))
        scored.append((z, w, yc, yr))
    scored.sort(reverse=True)

    def row(z: float, w: str, yc: int, yr: int) -> dict[str, object]:
        return {"term": w, "z": round(z, 3), "window_per_1k": round(1000 * yc / n_c, 3),
                "reference_per_1k": round(1000 * yr / n_r, 3)}

    up = [row(*s) for s in scored[:top] if s[0] > 0]
    down = [row(*s) for s in reversed(scored[-top:]) if s[0] < 0]
    weight = {w: z for z, w, _, _ in scored if z > 2}
    ranked = sorted(((sum(weight.get(t, 0.0) for t in set(terms(x))), i) for i, x in enumerate(cur_texts)),
                    reverse=True)
    seen, ex = set(), []
    for score, i in ranked:
        text = " ".join(cur_texts[i].split())
        if score <= 0 or text in seen:
            continue
        seen.add(text)
        ex.append({"text": text[:EXAMPLE_CHARS] + ("…" if len(text) > EXAMPLE_CHARS else ""),
                   "score": round(score, 2)})
        if len(ex) == examples:
            break
    return {"window_terms": up, "reference_terms": down, "examples": ex, "method": method}
