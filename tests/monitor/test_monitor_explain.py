"""Drift explanation on real text: BBC News sent to a model trained on film reviews is explained by
news words (more often in the window) and review words (missing from it), with BBC articles as the
examples; a fresh sample of the reviews themselves gives no term anywhere near as strong."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def texts():
    from tunewise.data.bundled import sample_rows

    rt = [r["text"] for r in sample_rows("rotten-tomatoes", limit=1100, seed=0)]
    bbc = [" ".join(r["text"].split())[:1500] for r in sample_rows("bbc-news", limit=100, seed=0)]
    return rt[:1000], rt[1000:], bbc


def test_bbc_window_against_review_reference_is_explained_by_its_words(texts):
    from tunewise.monitor.explain import explain

    ref, _, bbc = texts
    e = explain(ref, bbc)
    up = [t["term"] for t in e["window_terms"]]
    down = [t["term"] for t in e["reference_terms"]]
    assert {"said", "mr", "year"} <= set(up), up
    assert {"film", "movie"} <= set(down), down
    assert all(t["z"] > 0 and t["window_per_1k"] > t["reference_per_1k"] for t in e["window_terms"])
    assert len(e["examples"]) == 3
    starts = {" ".join(b.split())[:200] for b in bbc}
    assert all(x["text"][:200] in starts for x in e["examples"])   # the examples are window (BBC) texts


def test_same_source_window_has_no_strong_term(texts):
    from tunewise.monitor.explain import explain

    ref, fresh, bbc = texts
    same = max(abs(t["z"]) for t in explain(ref, fresh)["window_terms"] + explain(ref, fresh)["reference_terms"])
    foreign = max(t["z"] for t in explain(ref, bbc)["window_terms"])
    assert same < 0.6 * foreign, (same, foreign)
