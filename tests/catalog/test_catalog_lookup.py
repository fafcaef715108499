"""Lookups: as-of dates, size bands, GPU offers, staleness, unknown names (never $0), overrides."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tunewise.catalog import load_catalog
from tunewise.errors import BadInputError

OVERRIDE = """\
type: provider
schema_version: 1
provider: openai
name: OpenAI (our negotiated rates)
url: https://example.com/contract
prices:
  - {model: gpt-4o-mini-2024-07-18, kind: training, usd: 2.10, unit: 1M tokens, effective_from: 2024-01-01, source_url: "https://example.com/contract", checked_on: 2026-11-01, confidence: user}
"""

INTERNAL_GPU = """\
type: provider
schema_version: 1
provider: in-house
name: Our cluster
url: https://example.com/cluster
prices:
  - {model: h100-80gb, kind: gpu-hour, usd: 1.10, unit: GPU-hour, market: internal, effective_from: 2026-01-01, source_url: "https://example.com/cluster", checked_on: 2026-10-01, confidence: user}
"""


def test_as_of_picks_the_price_in_force(catalog):
    aug23 = catalog.price("openai", "gpt-3.5-turbo", "tuned-input", as_of=date(2023, 9, 1))
    jun24 = catalog.price("openai", "gpt-3.5-turbo", "tuned-input", as_of=date(2024, 6, 1))
    assert (aug23.usd, jun24.usd) == (Decimal("12.00"), Decimal("3.00"))
    assert aug23.effective_from == date(2023, 8, 22)


def test_effective_until_ends_a_price(catalog):
    old = catalog.price("aws", "h100-80gb", "gpu-hour", market="on-demand", as_of=date(2024, 1, 1))
    new = catalog.price("aws", "h100-80gb", "gpu-hour", market="on-demand", as_of=date(2025, 7, 1))
    assert (old.usd, new.usd) == (Decimal("12.29"), Decimal("6.88"))
    # legacy GPT-3 fine-tunes: in force until their shutdown on 2024-01-04 (not only until the 2023-08-22 launch)
    assert catalog.price("openai", "davinci", "training", as_of=date(2023, 9, 1)).usd == Decimal("30.00")
    with pytest.raises(BadInputError, match="in force on 2024-02-01"):
        catalog.price("openai", "davinci", "training", as_of=date(2024, 2, 1))


def test_price_before_it_existed_is_an_error_not_zero(catalog):
    with pytest.raises(BadInputError) as exc:
        catalog.price("openai", "gpt-4o-mini", "training", as_of=date(2023, 1, 1))
    assert "2024-07-18" in exc.value.render()


def test_size_band_prices(catalog):
    day = date(2025, 7, 1)  # Together's size-band table, in force until its 2026-09-11 cut
    small = catalog.price("together", "llama-3.1-8b", "training", objective="sft", method="lora", as_of=day)
    big = catalog.price("together", "llama-3.1-70b", "training", objective="sft", method="full", as_of=day)
    assert (small.model, small.usd) == ("upto-16b", Decimal("0.48"))
    assert (big.model, big.usd) == ("upto-100b", Decimal("3.20"))
    # after the cut: per-model rates where found, and no guessed band price for the others
    cut = date(2026, 12, 2)
    q = catalog.price("together", "qwen3.5-9b", "training", objective="sft", method="lora", as_of=cut)
    assert (q.model, q.usd) == ("qwen3.5-9b", Decimal("0.34"))
    with pytest.raises(BadInputError, match="only for 2025-01-01..2026-09-11"):
        catalog.price("together", "llama-3.1-8b", "training", objective="sft", method="lora", as_of=cut)


def test_unknown_names_suggest(catalog):
    with pytest.raises(BadInputError, match="Did you mean 'openai'"):
        catalog.provider("opnai")
    with pytest.raises(BadInputError, match="gpt-4o-mini"):
        catalog.api_model("openai", "gpt-4o-mni")
    with pytest.raises(BadInputError, match="h100-80gb"):
        catalog.gpu("h100-80")
    with pytest.raises(BadInputError, match="llama-3.1-8b"):
        catalog.open_model("llama-3.1-8")
    with pytest.raises(BadInputError, match="never assumed to be \\$0"):
        catalog.price("openai", "gpt-4o-mini", "hosting-hour")


def test_gpu_offer_by_seller_and_market(catalog):
    assert catalog.gpu_offer("h100-80gb", "runpod").market == "on-demand"
    assert catalog.gpu_offer("h100", "runpod-spot").usd == Decimal("2.39")
    assert catalog.gpu_offer("h100", "runpod-community").usd == Decimal("2.69")  # RunPod Community Cloud
    with pytest.raises(BadInputError, match="runpod"):
        catalog.gpu_offer("h100-80gb", "runpood")
    assert catalog.gpu_offer("a10g-24gb", "aws").market == "on-demand"  # on-demand when a seller has it
    assert catalog.gpu_offer("a10g-24gb", "aws-spot").market == "spot"


def test_gpu_offer_ambiguous_without_on_demand(tmp_path):
    f = tmp_path / "two.yaml"
    f.write_text(INTERNAL_GPU + INTERNAL_GPU.split("prices:\n")[1].replace("internal", "spot"))
    cat = load_catalog([f], as_of=date(2026, 11, 25))
    with pytest.raises(BadInputError, match="ambiguous") as exc:
        cat.gpu_offer("h100-80gb", "in-house")
    assert "in-house-spot" in exc.value.render()
    assert cat.gpu_offer("h100-80gb", "in-house-internal").usd == Decimal("1.10")


def test_stale_detection_and_window(catalog):
    lambda_h100 = catalog.price("lambda", "h100-80gb", "gpu-hour", market="on-demand", as_of=date(2026, 1, 1))
    assert lambda_h100.checked_on == date(2025, 2, 1)
    assert catalog.is_stale(lambda_h100)  # 662 days before 2026-11-25 > 180
    wide = load_catalog(as_of=date(2026, 11, 25), stale_after_days=1000)
    assert not wide.is_stale(wide.price("lambda", "h100-80gb", "gpu-hour", market="on-demand",
                                        as_of=date(2026, 1, 1)))
    then = load_catalog(as_of=date(2025, 3, 1))
    assert not then.is_stale(then.price("lambda", "h100-80gb", "gpu-hour", market="on-demand"))
    fresh = catalog.price("openai", "gpt-4o-mini", "training")
    assert not catalog.is_stale(fresh)


def test_user_override_shadows_bundled_price(tmp_path):
    f = tmp_path / "ours.yaml"
    f.write_text(OVERRIDE)
    cat = load_catalog([f], as_of=date(2026, 11, 25))
    p = cat.price("openai", "gpt-4o-mini", "training")
    assert (p.usd, p.user, p.confidence) == (Decimal("2.10"), True, "user")
    # the rest of the provider is still there
    assert cat.price("openai", "gpt-4o-mini", "tuned-input").usd == Decimal("0.30")
    assert f.read_text() == OVERRIDE  # input never modified


def test_env_var_adds_files(tmp_path, monkeypatch):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(OVERRIDE)
    b.write_text(INTERNAL_GPU)
    monkeypatch.setenv("TUNEWISE_CATALOG", os.pathsep.join([str(a), str(b)]))
    cat = load_catalog(as_of=date(2026, 11, 25))
    assert cat.price("openai", "gpt-4o-mini", "training").usd == Decimal("2.10")
    assert cat.gpu_offer("h100-80gb", "in-house").usd == Decimal("1.10")


def test_schema_errors_name_file_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(INTERNAL_GPU.replace("usd: 1.10", "usd: -1").replace("confidence: user}",
                                                                        "confidence: user, colour: red}")
                 + "  - {model: t4-16gb, kind: gpu-hour, usd: 0.2, unit: hours, market: internal, "
                   "effective_from: 2026-01-01, checked_on: 2026-10-01, confidence: user}\n")
    with pytest.raises(BadInputError) as exc:
        load_catalog([f])
    rendered = [p.render() for p in exc.value.problems]
    assert any(r.startswith(f"{f}:7:") and "usd" in r and "greater than 0" in r for r in rendered), rendered
    assert any(r.startswith(f"{f}:7:") and "colour" in r for r in rendered), rendered
    assert any(r.startswith(f"{f}:8:") and "source_url" in r for r in rendered), rendered


def test_unit_must_match_kind(tmp_path):
    f = tmp_path / "unit.yaml"
    f.write_text(INTERNAL_GPU.replace("unit: GPU-hour", "unit: hour"))
    with pytest.raises(BadInputError) as exc:
        load_catalog([f])
    assert "must be 'GPU-hour'" in exc.value.problems[0].render()
    assert exc.value.problems[0].line == 7


def test_yaml_syntax_error_has_line(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("type: provider\nschema_version: 1\nprovider: x\n  name: [oops\n")
    with pytest.raises(BadInputError) as exc:
        load_catalog([f])
    assert exc.value.problems[0].file == str(f)
    assert exc.value.problems[0].line in (3, 4)


def test_numbers_are_decimal_as_written(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text(INTERNAL_GPU.replace("usd: 1.10", "usd: 0.1"))
    cat = load_catalog([f], bundled=False, as_of=date(2026, 11, 25))
    assert cat.prices[0].usd == Decimal("0.1")  # not 0.1000000000000000055511151231257827
    assert str(cat.prices[0].usd) == "0.1"


def test_bundled_catalog_loads_from_installed_package():
    from tunewise.catalog import bundled_files

    assert all(Path(p).suffix == ".yaml" for p in bundled_files())


def test_ambiguous_variant_is_an_error_not_a_guess(catalog):
    with pytest.raises(BadInputError, match="ambiguous") as exc:
        catalog.price("together", "llama-3.1-8b", "training", objective="sft", as_of=date(2025, 7, 1))
    assert "sft-full" in exc.value.render() and "sft-lora" in exc.value.render()
