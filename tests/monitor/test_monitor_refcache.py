"""The reference predictions/embeddings cache: reused for the same texts and model, recomputed otherwise."""

from __future__ import annotations

import os

import numpy as np

from tunewise.monitor import refcache


def _run_dir(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"w1")
    (tmp_path / "config.json").write_text("{}")
    return tmp_path


def test_cache_is_reused_and_keyed_by_texts_and_model(tmp_path):
    run = _run_dir(tmp_path)
    calls = []

    def labels():
        calls.append(1)
        return ["fresh", "rotten"]

    assert refcache.cached(run, ["a", "b"], "predicted-labels", labels) == ["fresh", "rotten"]
    assert refcache.cached(run, ["a", "b"], "predicted-labels", labels) == ["fresh", "rotten"]
    assert len(calls) == 1
    refcache.cached(run, ["a", "c"], "predicted-labels", labels)          # other reference sample
    assert len(calls) == 2
    w = run / "model" / "weights.bin"
    w.write_bytes(b"w2-retrained")
    os.utime(w, ns=(1, 1))
    refcache.cached(run, ["a", "b"], "predicted-labels", labels)          # other model files
    assert len(calls) == 3

    emb = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = refcache.cached(run, ["a", "b"], "embeddings", lambda: emb)
    again = refcache.cached(run, ["a", "b"], "embeddings", lambda: np.zeros((2, 3)))
    assert np.array_equal(out, emb) and np.array_equal(again, emb) and again.dtype == np.float32


def test_read_only_run_dir_still_computes(tmp_path):
    run = _run_dir(tmp_path)
    os.chmod(run, 0o555)
    try:
        if os.access(run, os.W_OK):  # root ignores permissions; make the cache path unwritable instead
            (run / refcache.CACHE_DIR).write_text("not a directory")
        assert refcache.cached(run, ["a"], "predicted-labels", lambda: ["x"]) == ["x"]
        assert refcache.cached(run, ["a"], "predicted-labels", lambda: ["y"]) == ["y"]
    finally:
        os.chmod(run, 0o755)
