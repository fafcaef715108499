"""The examples in docstrings run: every module under src/tunewise with a ``>>>`` line is doctested."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
MODULES = sorted(
    ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
    for p in (SRC / "tunewise").rglob("*.py")
    if "migrations" not in p.parts and ">>> " in p.read_text(encoding="utf-8"))


def test_some_modules_have_examples() -> None:
    assert len(MODULES) >= 5, MODULES  # the package docstrings carry examples; a glob that finds none is broken


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name}: no example was found although the file has '>>> '"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (see output above)"
