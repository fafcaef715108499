"""Fixtures for catalog tests: the bundled catalog at a fixed date (staleness depends on the date)."""

from __future__ import annotations

from datetime import date

import pytest

from tunewise.catalog import Catalog, load_catalog

TODAY = date(2026, 11, 25)  # the date the reference figures were entered


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(as_of=TODAY)


@pytest.fixture(autouse=True)
def _no_env_catalog(monkeypatch):
    monkeypatch.delenv("TUNEWISE_CATALOG", raising=False)
