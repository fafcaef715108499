"""Pilot fixtures: small real data sets exported from the bundled ones, and shared real runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunewise.data.bundled import sample_rows


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def jsonl():
    """write_rows(path, rows) -> path: a JSONL file of the given rows."""
    return write_rows


@pytest.fixture(scope="session")
def rt300(tmp_path_factory) -> Path:
    """300 real Rotten Tomatoes snippets (seed 0, stratified): the golden test's data."""
    return write_rows(tmp_path_factory.mktemp("rt300") / "rt300.jsonl", sample_rows("rotten-tomatoes", limit=300, seed=0))
