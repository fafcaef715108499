"""Fixtures for estimator tests: catalog at fixed dates, small workloads, audit JSON files."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from tunewise.catalog import Catalog, load_catalog
from tunewise.estimate import Traffic, Workload

TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def _no_env_catalog(monkeypatch):
    monkeypatch.delenv("TUNEWISE_CATALOG", raising=False)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(as_of=TODAY)


@pytest.fixture(scope="session")
def catalog_jul2025() -> Catalog:
    """Before the 2026 repricing and retirements: the prices the hand-computed cases were written for."""
    return load_catalog(as_of=date(2025, 7, 1))


@pytest.fixture(scope="session")
def catalog_dec2026() -> Catalog:
    """The market check's date (/work/shared/reference/market-2026-12.md)."""
    return load_catalog(as_of=date(2026, 12, 2))


@pytest.fixture(scope="session")
def catalog_aug2023() -> Catalog:
    return load_catalog(as_of=date(2023, 8, 30))


@pytest.fixture
def small_workload() -> Workload:
    return Workload(examples=1000, tokens_total=250_000, input_tokens_total=200_000,
                    output_tokens_total=50_000, max_tokens=900)


@pytest.fixture
def traffic() -> Traffic:
    return Traffic(requests_per_month=Decimal(10_000), input_tokens=Decimal(500), output_tokens=Decimal(100))


def audit_dict(lengths: list[int], *, tokenizers: tuple[str, ...] = ("o200k_base",),
               input_share: Decimal = Decimal("0.8")) -> dict:
    """An audit JSON in tunewise.audit's shape, built with the audit's own histogram code."""
    from array import array

    from tunewise.audit.stats import length_stats

    total = sum(lengths)
    inp = int(total * input_share)
    stats = length_stats(array("I", lengths), inp, total - inp)
    return {"schema_version": "1.0", "examples": len(lengths), "tokens": {t: stats for t in tokenizers}}


@pytest.fixture
def audit_json(tmp_path):
    def write(lengths: list[int], name: str = "audit.json", **kw) -> str:
        p = tmp_path / name
        p.write_text(json.dumps(audit_dict(lengths, **kw)))
        return str(p)
    return write
