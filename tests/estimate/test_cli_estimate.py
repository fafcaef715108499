"""`tunewise estimate` through the real console script: outputs, files, and bad input (exit 2)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

GOLDEN = ["--examples", "1000", "--training-tokens", "100000", "--tokenizer", "cl100k_base",
          "--as-of", "2023-09-01", "-c", "api-finetune:openai/gpt-3.5-turbo"]


def _ok(r):
    assert r.code == 0, r.output
    assert "Traceback" not in r.output
    return r


def _bad(r, *needles):
    assert r.code == 2, r.output
    assert "Traceback" not in r.output
    assert "error:" in r.stderr
    for n in needles:
        assert n in r.output, f"{n!r} not in:\n{r.output}"
    return r


def test_golden_through_cli(cli, tmp_path):
    out = tmp_path / "e.json"
    r = _ok(cli("estimate", *GOLDEN, "--json", out))
    assert "$2.40" in r.stdout and "300,000 tokens billed" in r.stdout
    assert "openai/gpt-3.5-turbo/training@2023-08-22" in r.stdout  # price with its date
    assert "https://openai.com/index/" in r.stdout  # its source (the table may fold the URL)
    data = json.loads(out.read_text())
    e = data["estimates"][0]
    used = {p["id"]: p for p in e["prices"]}
    assert used["openai/gpt-3.5-turbo/training@2023-08-22"]["source_url"] == \
        "https://openai.com/index/gpt-3-5-turbo-fine-tuning-and-api-updates/"
    assert used["openai/gpt-3.5-turbo/training@2023-08-22"]["stale"] is False
    assert e["train_usd"]["expected"] == "2.4000"  # Decimal kept as text, never float
    assert data["as_of"] == "2023-09-01" and "estimates" in data["disclaimer"].lower()


def test_audit_json_ranking_break_even_csv_and_stale_warning(cli, audit_json, tmp_path):
    audit = audit_json([120 + (i * 37) % 400 for i in range(300)])
    csv_out = tmp_path / "e.csv"
    r = _ok(cli("estimate", "--audit-json", audit, "--requests-per-month", "200000", "--growth", "5",
                "--months", "12", "--retrains-per-year", "2", "--as-of", "2026-06-01",
                "-c", "api-finetune:openai/gpt-4o-mini", "-c", "prompting:openai/gpt-4o[k=5]",
                "-c", "selfhost:llama-3.1-8b/lora/h100-80gb@lambda",
                "-c", "selfhost:llama-3.1-70b/full/t4-16gb@aws", "--csv", csv_out))
    out = r.stdout
    assert "does-not-fit" in out and "month 1" in out and "GPU-h" in out
    assert "prompting:openai/gpt-4o[k=5]" in out  # ids are shown literally, not as Rich markup
    assert "STALE" in out and "warning:" in out  # Lambda H100 figure in force in June 2026 is from 2025-02
    rows = list(csv.DictReader(io.StringIO(csv_out.read_text())))
    assert [row["rank"] for row in rows] == ["1", "2", "3", ""]
    by = {row["candidate"]: row for row in rows}
    assert by["api-finetune:openai/gpt-4o-mini"]["break_even_month"] == "1"
    assert by["selfhost:llama-3.1-70b/full/t4-16gb@aws"]["status"] == "does-not-fit"
    assert "lambda/h100-80gb/gpu-hour/on-demand@2025-02-01" in by[
        "selfhost:llama-3.1-8b/lora/h100-80gb@lambda"]["stale_prices"]
    tco = Decimal(by["api-finetune:openai/gpt-4o-mini"]["tco_usd_expected"])
    assert tco > 0


def test_data_file_is_audited(cli, tmp_path):
    lines = [json.dumps({"messages": [{"role": "user", "content": f"Classify ticket {i}: printer on fire"},
                                      {"role": "assistant", "content": "hardware"}]}) for i in range(40)]
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(lines) + "\n")
    before = data.read_bytes()
    out = tmp_path / "e.json"
    _ok(cli("estimate", data, "-c", "api-finetune:openai/gpt-4o-mini", "--requests-per-month", "1000",
            "--as-of", "2026-11-25", "--json", out))
    est = json.loads(out.read_text())["estimates"][0]
    assert est["epochs"] == 3 and int(est["billed_tokens"]["expected"]) > 40 * 3 * 5
    assert data.read_bytes() == before


def test_calibration_file_through_cli(cli, audit_json, tmp_path):
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps({"family": "qwen2.5", "params": 494032768, "tokens_per_s": 90000.0,
                               "achieved_flops": 2.7e14, "mfu": 0.27, "hardware": "h100"}))
    out = tmp_path / "e.json"
    _ok(cli("estimate", "--audit-json", audit_json([300] * 100), "-c",
            "selfhost:qwen2.5-0.5b/lora/h100-80gb@runpod", "--calibration", cal, "--json", out))
    assert json.loads(out.read_text())["estimates"][0]["calibrated"] is True


def test_override_catalog_file_makes_azure_priceable(cli, tmp_path):
    args = ["estimate", "--examples", "100", "--training-tokens", "50000", "-c",
            "api-finetune:azure-openai/gpt-4o-mini", "--requests-per-month", "10", "--input-tokens", "100",
            "--output-tokens", "10", "--as-of", "2026-11-25"]
    _bad(cli(*args), "no 'training' price", "--catalog-file")
    prices = tmp_path / "azure.yaml"
    row = ('  - {{model: gpt-4o-mini-2024-07-18, kind: {k}, usd: {u}, unit: {unit}, effective_from: 2026-01-01, '
           'source_url: "https://example.com/our-azure-contract", checked_on: 2026-11-01, confidence: user}}\n')
    prices.write_text("type: provider\nschema_version: 1\nprovider: azure-openai\nname: Azure (ours)\n"
                      "url: https://example.com/our-azure-contract\nprices:\n"
                      + row.format(k="hosting-hour", u="1.70", unit="deployment hour")
                      + row.format(k="training", u="3.30", unit="1M tokens")
                      + row.format(k="tuned-input", u="0.33", unit="1M tokens")
                      + row.format(k="tuned-output", u="1.32", unit="1M tokens"))
    r = _ok(cli(*args, "--catalog-file", prices, "--json", tmp_path / "a.json"))
    e = json.loads((tmp_path / "a.json").read_text())["estimates"][0]
    # hosting $1.70 x 730 h = $1,241 a month dominates; training 50,000 x 3 x $3.30/M = $0.495
    assert e["train_usd"]["expected"] == "0.4950"
    assert Decimal(e["monthly_usd"]["expected"]) > Decimal("1241")
    assert "(yours)" in r.stdout


def test_help_documents_the_grammar(cli):
    r = _ok(cli("estimate", "--help"))
    for s in ("api-finetune:PROVIDER/MODEL", "selfhost:MODEL/METHOD/GPU@OFFER", "prompting:PROVIDER/MODEL[k=N]",
              "runpod-spot[x2]"):
        assert s in r.stdout


@pytest.mark.parametrize("args, needles", [
    (["-c", "api-finetune:openai/gpt-4o-mni"], ["unknown model 'openai/gpt-4o-mni'", "Did you mean",
                                                 "'gpt-4o-mini'"]),
    (["-c", "api-finetune:opnai/gpt-4o-mini"], ["unknown provider 'opnai'", "'openai'"]),
    (["-c", "selfhost:llama-3.1-8b/lora/h1000@runpod"], ["unknown GPU 'h1000'", "h100-80gb"]),
    (["-c", "selfhost:llama-3.1-8b/lora/h100-80gb@runpod[x0]"], ["x0", "at least 1"]),
    (["-c", "selfhost:llama-3.1-8b/lorra/h100-80gb@runpod"], ["lorra", "'lora'"]),
    (["-c", "selfhost:lama-3.1-8b/lora/h100-80gb@runpod"], ["unknown open model", "llama-3.1-8b"]),
    (["-c", "api-finetune:openai/gpt-4o-mini", "--requests-per-month", "-5"], ["--requests-per-month", ">= 0"]),
    (["-c", "api-finetune:openai/gpt-4o-mini", "--input-tokens", "lots"], ["--input-tokens must be a number"]),
    (["-c", "api-finetune:openai/gpt-4o-mini", "--as-of", "2023-13-01"], ["--as-of", "YYYY-MM-DD"]),
    (["-c", "api-finetune:openai/gpt-4o-mini", "--as-of", "2023-01-01"], ["in force on 2023-01-01",
                                                                           "2024-07-18"]),
    (["-c", "api-finetune:openai/gpt-4o-mini[epochs=0]"], ["epochs", "at least 1"]),
    (["-c", "api-finetune:openai/gpt-4o-mini", "--months", "0"], ["--months"]),
    (["-c", "prompting:openai/gpt-4o", "--baseline", "prompting:openai/gpt-4"], ["baseline"]),
])
def test_bad_input_exits_2(cli, args, needles):
    base = ["estimate", "--examples", "100", "--training-tokens", "20000", "--input-tokens", "100",
            "--output-tokens", "10"]
    _bad(cli(*base, *args), *needles)


def test_bad_files_exit_2_with_location(cli, tmp_path):
    bad_yaml = tmp_path / "ours.yaml"
    bad_yaml.write_text("type: provider\nschema_version: 1\nprovider: ours\nname: x\nurl: https://x.org\n"
                        "prices:\n  - {model: h100-80gb, kind: gpu-hour, usd: 1.5 unit: GPU-hour}\n")
    r = _bad(cli("estimate", "--examples", "10", "--training-tokens", "1000", "-c",
                 "api-finetune:openai/gpt-4o-mini", "--input-tokens", "1", "--output-tokens", "1",
                 "--catalog-file", bad_yaml), "YAML syntax", f"{bad_yaml}:7")
    bad_audit = tmp_path / "audit.json"
    bad_audit.write_text('{"examples": 3,\n "tokens": {"o200k_base": {"total": 10,}}}')
    _bad(cli("estimate", "--audit-json", bad_audit, "-c", "api-finetune:openai/gpt-4o-mini"),
         f"{bad_audit}:2", "not valid JSON")
    wrong_shape = tmp_path / "audit2.json"
    wrong_shape.write_text(json.dumps({"examples": 3, "tokens": {"o200k_base": {"mean": 3}}}))
    _bad(cli("estimate", "--audit-json", wrong_shape, "-c", "api-finetune:openai/gpt-4o-mini",
             "--input-tokens", "1", "--output-tokens", "1"), "tokens.o200k_base", "total")
    _bad(cli("estimate", tmp_path / "missing.jsonl", "-c", "api-finetune:openai/gpt-4o-mini"), "not found")
    assert "Traceback" not in r.output


def test_impossible_config_is_a_result_not_an_error(cli):
    r = _ok(cli("estimate", "--examples", "100", "--training-tokens", "50000", "--input-tokens", "100",
                "--output-tokens", "10", "-c", "selfhost:llama-3.1-70b/full/t4-16gb@aws"))
    assert "does-not-fit" in r.stdout and "does not fit" in r.stdout


def test_an_80_column_terminal_gets_readable_blocks(cli):
    args = ["--examples", "1000", "--training-tokens", "100000", "--input-tokens", "60", "--output-tokens", "2",
            "--requests-per-month", "100000", "-c", "api-finetune:openai/gpt-4o-mini",
            "-c", "prompting:openai/gpt-5.4-mini[k=5]", "-c", "selfhost:llama-3.1-8b/lora/h100@lambda"]
    narrow = _ok(cli("estimate", *args, env={"COLUMNS": "80"}))
    lines = narrow.stdout.splitlines()
    assert max(map(len, lines)) <= 80
    for name in ("api-finetune:openai/gpt-4o-mini", "prompting:openai/gpt-5.4-mini[k=5]",
                 "selfhost:llama-3.1-8b/lora/h100@lambda"):
        assert any(ln.endswith(name) for ln in lines), name  # each candidate named whole, on its own line
    assert "TCO 12 mo  $" in narrow.stdout and "┃" not in narrow.stdout.split("Prices used")[0]
    wide = _ok(cli("estimate", *args, env={"COLUMNS": "160"}))
    assert "┃" in wide.stdout  # wide terminals keep the table
