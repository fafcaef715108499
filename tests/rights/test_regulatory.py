"""Regulatory flags: the EU AI Act one-third ratio from catalog training compute, the GDPR note."""

from __future__ import annotations

import json
from decimal import Decimal

from tunewise.catalog import load_catalog
from tunewise.rights.regulatory import finetune_flops, gdpr_note, gpai_ratio


def test_catalog_training_compute_has_a_source() -> None:
    cat = load_catalog()
    m = cat.open_model("llama-3.1-8b")
    assert m.training_flops == Decimal("7.2e23") and m.training_flops_source.startswith("https://")
    for om in cat.open_models.values():
        assert (om.training_flops is None) == (om.training_flops_source is None)


def test_one_third_ratio_from_the_estimate() -> None:
    base = load_catalog().open_model("llama-3.1-8b")
    # LoRA: 4 x N x tokens; 10M tokens -> 3.2e17 FLOPs, a tiny share of 7.2e23
    ft = finetune_flops({"billed_tokens": {"expected": "10000000"}}, "lora", base)
    assert ft == Decimal(4) * base.params * 10_000_000
    small = gpai_ratio("lora", ft, base)
    assert small["level"] == "info" and "under one third" in small["title"]
    assert Decimal(small["ratio"]) < Decimal("1e-5") and "not legal advice" in small["note"]
    big = gpai_ratio("huge", base.training_flops / 2, base)
    assert big["level"] == "review" and "over one third" in big["title"] and big["ratio"] == "0.5"
    assert any("digital-strategy.ec.europa.eu" in s["url"] for s in big["sources"])
    unknown = gpai_ratio("m", Decimal(10**20), load_catalog().open_model("mistral-7b-v0.3"))
    assert unknown["ratio"] is None and "unknown" in unknown["title"]


def test_gdpr_note_only_when_personal_data_is_found(cli, tmp_path) -> None:
    assert gdpr_note({"pii_examples": 0, "pii": {}, "examples": 3}) is None
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": f"call me at jane{i}@example.com", "label": "x"}) + "\n"
                            for i in range(3)) + json.dumps({"text": "hello", "label": "y"}) + "\n")
    r = cli("audit", data, "--json", tmp_path / "a.json", "--no-near-dups")
    assert r.code == 0, r.output
    flags = json.loads((tmp_path / "a.json").read_text())["regulatory"]
    assert [f["id"] for f in flags] == ["gdpr-personal-data"]
    assert "3 of 4" in flags[0]["title"] and "lawful basis" in flags[0]["detail"] and "not done" in flags[0]["detail"]
    assert "GDPR: personal data in 3 of 4 training examples" in " ".join(r.stdout.split())
