"""Rights outputs of a real `tunewise run` (the shared tiny_run): a Croissant file beside the report
that mlcroissant validates, a model card in every pilot run dir whose metrics equal the run's JSON,
and a rights verdict per candidate in report.json."""

from __future__ import annotations

import hashlib
import json

import yaml


def _card(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("\n---\n", 1)[0][4:])
    return meta, text


def test_croissant_beside_the_report_validates(tiny_run) -> None:
    import mlcroissant as mlc

    path = tiny_run.out / "croissant.json"
    doc = json.loads(path.read_text())
    train = tiny_run.dir / "train.jsonl"
    assert doc["distribution"][0]["sha256"] == hashlib.sha256(train.read_bytes()).hexdigest()
    assert "rai:dataLimitations" in doc and "rai:personalSensitiveInformation" in doc
    assert "commercial" in doc["rai:dataUseCases"]
    mlc.Dataset(jsonld=str(path))  # raises on any validation error


def test_every_pilot_run_dir_has_a_model_card_with_the_measured_metrics(tiny_run) -> None:
    for cid, base_license in (("minilm", "apache-2.0"), ("tfidf", None)):
        run_dir = tiny_run.out / "pilots" / cid
        pilot = json.loads((run_dir / "pilot.json").read_text())
        meta, text = _card(run_dir / "README.md")
        got = {m["type"]: m for m in meta["model-index"][0]["results"][0]["metrics"]}
        want = {k: m for k, m in pilot["metrics"].items() if m.get("value") is not None}
        assert {k: m["value"] for k, m in got.items()} == {k: m["value"] for k, m in want.items()}
        for k, m in want.items():
            assert f"[{m['ci_low']}, {m['ci_high']}]" in got[k]["name"]
            assert f"| {k} | {m['value']} | [{m['ci_low']}, {m['ci_high']}] |" in text
        if base_license:
            assert meta["license"] == base_license and meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
            assert f"license: {base_license} (from catalog entry minilm-l6-v2" in text
        else:  # trained from scratch: the data's license governs
            assert meta["license"] == "other" and meta["license_name"] == "LicenseRef-research-use"
        assert "## Environmental note" in text and f"{pilot['wall_seconds']} s" in text
        assert "tunewise serve THIS_RUN_DIR" in text
        # research-only data, commercial intended use: the card says it is not allowed
        assert "**Rights verdict:** commercial use: not allowed" in text


def test_report_has_a_rights_verdict_per_candidate(tiny_run) -> None:
    rights = tiny_run.report["rights"]
    assert rights["use"] == "commercial"
    llama = rights["candidates"]["llama-lora"]
    assert llama["base_model_license"] == "llama3.1" and llama["status"] == "not-allowed"
    assert any("700 million" in o["text"] for o in llama["obligations"])
    assert "gpt4o-prompt" in rights["candidates"]  # 3-shot prompting sends the data to the provider
    titles = [f["title"] for f in tiny_run.report["findings"]]
    assert "Rights: llama-lora — commercial use: not allowed (data LicenseRef-research-use + base model llama3.1)" in titles


def test_report_flags_the_eu_ai_act_ratio_per_candidate(tiny_run) -> None:
    flags = {f.get("candidate"): f for f in tiny_run.report["rights"]["regulatory"]}
    llama = flags["llama-lora"]  # base compute in the catalog: the ratio is stated
    assert llama["ratio"] is not None and float(llama["ratio"]) < 1 / 3 and "under one third" in llama["title"]
    assert flags["minilm"]["ratio"] is None  # MiniLM's training compute is not in the catalog
    titles = [f["title"] for f in tiny_run.report["findings"]]
    assert llama["title"] in titles
