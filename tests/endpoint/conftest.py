"""Fixtures for the endpoint tests: small real data sets and the stdlib OpenAI-style test server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakeserver import FakeOpenAI  # noqa: E402


@pytest.fixture(scope="session")
def rt100(tmp_path_factory) -> Path:
    """100 real Rotten Tomatoes snippets (fresh/rotten): the seeded split holds out 20 for test."""
    from tunewise.data.bundled import export

    path, _ = export("rotten-tomatoes", tmp_path_factory.mktemp("rt") / "rt100.jsonl", limit=100, seed=0)
    return path


@pytest.fixture(scope="session")
def qa_data(tmp_path_factory) -> Path:
    """A small prompt/completion set (BBC News topic as a one-word answer)."""
    from tunewise.data.bundled import sample_rows

    d = tmp_path_factory.mktemp("qa")
    rows = sample_rows("bbc-news", limit=40, seed=3)
    path = d / "qa.jsonl"
    path.write_text("".join(json.dumps({"prompt": "Topic of: " + " ".join(r["text"].split()[:30]),
                                        "completion": r["label"]}) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def fake():
    servers: list[FakeOpenAI] = []

    def start(**kw) -> FakeOpenAI:
        s = FakeOpenAI(**kw).start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()

