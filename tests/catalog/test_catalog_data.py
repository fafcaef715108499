"""Contract tests over every bundled catalog entry: schema, ids, order, sources, dates, coverage."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from tunewise.catalog import bundled_files, read_file
from tunewise.catalog.schema import GpuSpecsFile, OpenModelsFile, ProviderFile

FILES = bundled_files()


def test_bundled_files_exist():
    names = {f.name for f in FILES}
    assert {"openai.yaml", "google-vertex.yaml", "together.yaml", "fireworks.yaml", "mistral.yaml",
            "azure-openai.yaml", "gpu-specs.yaml", "open-models.yaml"} <= names


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_every_file_validates_and_is_sorted(path):
    lf = read_file(path, user=False)
    c = lf.content
    if isinstance(c, ProviderFile):
        keys = [p.sort_key() for p in c.prices]
        assert keys == sorted(keys), f"{path.name}: prices not sorted by (model, kind, market, variant, date)"
        ids = [m.id for m in c.models]
        assert ids == sorted(ids), f"{path.name}: models not sorted by id"
        assert path.stem == c.provider, "one file per provider, named after it"
    elif isinstance(c, GpuSpecsFile):
        assert [g.id for g in c.gpus] == sorted(g.id for g in c.gpus)
    else:
        assert isinstance(c, OpenModelsFile)
        assert [m.id for m in c.models] == sorted(m.id for m in c.models)


def test_price_ids_unique(catalog):
    ids = [p.id for p in catalog.prices]
    assert len(ids) == len(set(ids))
    assert len(ids) > 100


def test_every_price_has_source_dates_confidence_and_positive_decimal(catalog):
    for p in catalog.prices:
        assert p.source_url.startswith(("https://", "http://")), p.id
        assert isinstance(p.effective_from, date) and isinstance(p.checked_on, date), p.id
        assert p.checked_on <= date.today(), f"{p.id}: checked in the future"
        assert p.confidence in ("P", "P-data", "S", "R"), p.id
        assert isinstance(p.usd, Decimal) and p.usd > 0, p.id
        if p.effective_until:
            assert p.effective_until > p.effective_from


def test_every_price_refers_to_something_defined(catalog):
    for p in catalog.prices:
        if p.kind == "gpu-hour":
            assert p.model in catalog.gpus, f"{p.id}: unknown GPU"
        elif p.kind == "instance-hour":  # a CPU instance type describes itself (vCPUs, memory)
            assert p.vcpus and p.memory_gb and p.cpu_arch, f"{p.id}: CPU instance without its shape"
        elif not p.model.startswith("upto-"):
            assert p.model in catalog.providers[p.provider].models, f"{p.id}: model not declared"


def test_cpu_instances_at_three_hosts_at_least(catalog):
    hosts = {p.provider for p in catalog.hourly_offers("instance-hour")}
    assert {"aws", "gcp"} <= hosts and len(hosts) >= 3, hosts


def test_gpus_on_at_least_two_markets(catalog):
    for gpu in ("t4-16gb", "l4-24gb", "a10g-24gb", "a100-40gb", "a100-80gb", "h100-80gb", "h200-141gb"):
        offers = {(p.provider, p.market) for p in catalog.prices if p.kind == "gpu-hour" and p.model == gpu}
        assert len(offers) >= 2, f"{gpu}: {offers}"


def test_open_models_cover_the_families(catalog):
    need = {"llama-3.1-8b", "llama-3.1-70b", "mistral-7b-v0.3", "qwen2.5-0.5b", "qwen2.5-72b",
            "gemma-2-9b", "smollm2-135m", "minilm-l6-v2"}
    assert need <= set(catalog.open_models)


def test_minilm_shape_matches_the_bundled_model():
    """The one open model we can check offline: the catalog entry vs the shipped config.json."""
    from tunewise import assets
    from tunewise.catalog import load_catalog

    cfg = json.loads((assets.minilm_dir() / "config.json").read_text())
    m = load_catalog().open_model("minilm-l6-v2")
    assert (m.layers, m.hidden, m.heads, m.intermediate, m.vocab, m.context) == (
        cfg["num_hidden_layers"], cfg["hidden_size"], cfg["num_attention_heads"],
        cfg["intermediate_size"], cfg["vocab_size"], cfg["max_position_embeddings"])


def test_reference_figures_are_entered_with_their_tags(catalog):
    """Spot-check figures from /work/shared/reference/prices.md, with the tag kept as confidence."""
    day = date(2025, 1, 1)
    assert catalog.price("openai", "gpt-4o-mini-2024-07-18", "training", as_of=day).usd == Decimal("3.00")
    p = catalog.price("openai", "gpt-4o-2024-08-06", "tuned-output", as_of=day)
    assert (p.usd, p.confidence) == (Decimal("15.00"), "P-data")
    rft = catalog.price("openai", "o4-mini", "training-hour", objective="rft", as_of=date(2025, 7, 1))
    assert (rft.usd, rft.unit, rft.confidence) == (Decimal(100), "training hour", "P")
    assert catalog.price("fireworks", "a100-80gb", "gpu-hour", market="dedicated", as_of=day).usd == Decimal("3.89")
    assert catalog.price("mistral", "open-mistral-7b", "job-minimum").usd == Decimal(4)
    assert catalog.gpu("h100-80gb").bf16_dense_tflops == 989
