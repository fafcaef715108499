"""`tunewise catalog list|show|validate|crosscheck` through the real console script."""

from __future__ import annotations

import json

import pytest

from tunewise.catalog import bundled_files

GOOD = """\
type: provider
schema_version: 1
provider: in-house
name: Our cluster
url: https://example.com/cluster
prices:
  - {model: h100-80gb, kind: gpu-hour, usd: 1.10, unit: GPU-hour, market: internal, effective_from: 2026-01-01, source_url: "https://example.com/cluster", checked_on: 2025-01-01, confidence: user}
"""


def test_list_filters_by_provider_and_kind(cli, tmp_path):
    out = tmp_path / "l.json"
    r = cli("catalog", "list", "--provider", "runpod", "--kind", "gpu", "--as-of", "2026-11-25", "--json", out)
    assert r.code == 0, r.output
    rows = json.loads(out.read_text())
    assert rows and {p["provider"] for p in rows} == {"runpod"} and {p["kind"] for p in rows} == {"gpu-hour"}
    assert "runpod/h100-80gb/gpu-hour/spot@2025-01-01" in r.stdout
    assert "STALE" in r.stdout  # RunPod L4 figure from 2025-02
    hist = cli("catalog", "list", "--provider", "openai", "--kind", "training", "--history", "--as-of", "2026-11-25")
    assert "openai/ada/training@2022-01-01" in hist.stdout  # retired prices only with --history
    now = cli("catalog", "list", "--provider", "openai", "--kind", "training", "--as-of", "2026-11-25")
    assert "openai/ada/training" not in now.stdout


def test_list_bad_kind_and_provider(cli):
    r = cli("catalog", "list", "--kind", "trainig")
    assert r.code == 2 and "Did you mean 'training'" in r.stderr and "Traceback" not in r.output
    r = cli("catalog", "list", "--provider", "runpood")
    assert r.code == 2 and "'runpod'" in r.stderr


def test_show_model_gpu_price_and_unknown(cli):
    r = cli("catalog", "show", "openai/gpt-3.5-turbo", "--as-of", "2023-09-01")
    assert r.code == 0 and "$12 per 1M tokens" in r.stdout and "$3 per 1M tokens" in r.stdout
    assert "not in force" in r.stdout  # the Nov 2023 price, seen from Sep 2023
    r = cli("catalog", "show", "h100")
    assert r.code == 0 and "989 TFLOP/s" in r.stdout and "runpod/h100-80gb/gpu-hour/spot" in r.stdout
    r = cli("catalog", "show", "openai/gpt-4o-mini-2024-07-18/training@2024-07-18")
    assert r.code == 0 and "source_url: https://openai.com/api/pricing/" in r.stdout
    r = cli("catalog", "show", "llama-3.1-8b")
    assert r.code == 0 and "params: 8030261248" in r.stdout
    r = cli("catalog", "show", "h100-80g")
    assert r.code == 2 and "Did you mean" in r.stderr and "Traceback" not in r.output


def test_validate_good_and_bad_files(cli, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    r = cli("catalog", "validate", good, "--as-of", "2026-11-25")
    assert r.code == 0, r.output
    assert "valid:" in r.stdout and "1 price(s)" in r.stdout and "stale price" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("usd: 1.10", "usd: free").replace("market: internal", "market: cloud"))
    r = cli("catalog", "validate", bad)
    assert r.code == 2 and "Traceback" not in r.output
    assert f"{bad}:7: prices.0.usd" in r.stderr and f"{bad}:7: prices.0.market" in r.stderr
    dup = tmp_path / "dup.yaml"
    dup.write_text(GOOD + GOOD.splitlines()[-1] + "\n")
    r = cli("catalog", "validate", dup)
    assert r.code == 2 and f"{dup}:8" in r.stderr and "listed twice" in r.stderr
    assert bad.read_text().count("usd: free") == 1  # input untouched


def test_validate_every_bundled_file(cli):
    r = cli("catalog", "validate", *bundled_files())
    # bundled files are loaded twice (as bundled and as the files to check): duplicates are expected
    # to be reported only for user files, so validating the bundled set itself must pass
    assert r.code == 0, r.output
    assert r.stdout.count("valid:") == len(bundled_files())


def test_crosscheck_reports_disagreement_without_overwriting(cli, tmp_path, monkeypatch):
    r = cli("catalog", "crosscheck", "--as-of", "2026-11-25")
    assert r.code == 0, r.output
    assert "0 disagreement(s)" in r.stdout
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(GOOD.replace("provider: in-house", "provider: openai").replace(
        "{model: h100-80gb, kind: gpu-hour, usd: 1.10, unit: GPU-hour, market: internal,",
        "{model: gpt-4o-mini-2024-07-18, kind: base-input, usd: 0.99, unit: 1M tokens,"))
    r = cli("catalog", "crosscheck", "--as-of", "2026-11-25", env={"TUNEWISE_CATALOG": str(wrong)})
    assert r.code == 0 and "1 disagreement(s)" in r.stdout and "DISAGREE" in r.stdout
    assert "0.99" in wrong.read_text()


def test_template_validates_and_overrides(cli, tmp_path):
    out = tmp_path / "ours.yaml"
    r = cli("catalog", "template", out)
    assert r.code == 0 and out.exists()
    r = cli("catalog", "validate", out, "--as-of", "2026-11-25")
    assert r.code == 0, r.output
    r = cli("catalog", "show", "openai/gpt-4o-mini", "--catalog-file", out, "--as-of", "2026-11-25")
    assert "$2.4 per 1M tokens" in r.stdout
    r = cli("catalog", "template", out)
    assert r.code == 2 and "already exists" in r.stderr


def test_gpu_prices_as_of_the_market_check_and_before(cli, tmp_path):
    """2026 GPU-hour prices on 2026-12-02, the 2025 snapshots on 2025-03-01 (history kept)."""
    now, then = tmp_path / "now.json", tmp_path / "then.json"
    assert cli("catalog", "list", "--kind", "gpu", "--as-of", "2026-12-02", "--json", now).code == 0
    assert cli("catalog", "list", "--kind", "gpu", "--as-of", "2025-03-01", "--json", then).code == 0
    by_now = {p["id"].split("@")[0]: p for p in json.loads(now.read_text())}
    by_then = {p["id"].split("@")[0]: p for p in json.loads(then.read_text())}
    assert by_now["lambda/h100-80gb/gpu-hour/on-demand"]["usd"] == "4.29"
    assert by_then["lambda/h100-80gb/gpu-hour/on-demand"]["usd"] == "2.49"
    assert by_now["aws/a100-40gb/gpu-hour/on-demand"]["usd"] == "2.7447"  # after the June 2025 P4 cut
    assert by_then["aws/a100-40gb/gpu-hour/on-demand"]["usd"] == "4.10"
    assert "coreweave/h200-141gb/gpu-hour/on-demand" in by_now and "coreweave/h200-141gb/gpu-hour/on-demand" not in by_then
    assert {p["model"] for p in by_now.values()} >= {"b200-180gb", "h200-141gb", "l40s-48gb"}


@pytest.mark.parametrize("args", [("catalog", "list", "--kind", "cpu"), ("catalog", "list", "--provider", "aws")])
def test_json_to_stdout_is_pure_json(cli, args) -> None:
    import json

    r = cli(*args, "--json", "-")
    assert r.code == 0, r.output
    rows = json.loads(r.stdout)  # the table went to stderr
    assert rows and all("id" in x and "usd" in x for x in rows)
    assert "price(s)" in r.stderr
