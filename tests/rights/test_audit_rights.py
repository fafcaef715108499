"""`tunewise audit --use ... --base-model-license ... [--strict]` and `--croissant FILE`, run as a user
would (the console script), on a real bundled data set; Croissant files validated with mlcroissant."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def rt(tmp_path_factory) -> Path:
    from tunewise.data.bundled import export

    path, _ = export("rotten-tomatoes", tmp_path_factory.mktemp("rights") / "rt.jsonl", limit=120, seed=3)
    return path


def test_cc_by_nc_commercial_is_not_allowed_and_strict_exits_2(cli, rt, tmp_path) -> None:
    r = cli("audit", rt, "--license", "CC-BY-NC-4.0", "--use", "commercial", "--no-near-dups",
            "--json", tmp_path / "a.json")
    assert r.code == 0, r.output
    assert "commercial use: not allowed" in r.stdout
    v = json.loads((tmp_path / "a.json").read_text())["license"]["verdict"]
    assert v["status"] == "not-allowed" and v["sources"][0]["url"].startswith("https://creativecommons.org/")
    strict = cli("audit", rt, "--license", "CC-BY-NC-4.0", "--use", "commercial", "--no-near-dups", "--strict")
    assert strict.code == 2 and "Traceback" not in strict.output
    assert "rights verdict for commercial use is 'not allowed'" in strict.stderr


def test_llama_base_commercial_lists_obligations_and_passes_strict(cli, rt) -> None:
    r = cli("audit", rt, "--license", "CC0-1.0", "--base-model-license", "llama3.1", "--use", "commercial",
            "--no-near-dups", "--no-pii", "--strict")  # --no-pii: the reviews' named people would be a warning
    assert r.code == 0, r.output
    out = " ".join(r.stdout.split())
    assert "commercial use: allowed with obligations" in out
    assert "[llama3.1]" in out and "700 million monthly active users" in out and "Built with Llama" in out
    assert "not legal advice" in out


def test_unknown_base_license_is_bad_input_with_suggestions(cli, rt) -> None:
    r = cli("audit", rt, "--base-model-license", "llama-3.9", "--use", "commercial")
    assert r.code == 2 and "unknown base model license 'llama-3.9'" in r.stderr and "Did you mean" in r.stderr
    assert "Traceback" not in r.output


def test_croissant_of_a_bundled_set_validates_and_carries_rai_fields(cli, rt, tmp_path) -> None:
    import itertools

    import mlcroissant as mlc

    out = tmp_path / "meta" / "rt.croissant.json"
    r = cli("audit", rt, "--license", "LicenseRef-research-use", "--source", "https://www.cs.cornell.edu/people/pabo/movie-review-data/",
            "--use", "research", "--creator", "Bo Pang and Lillian Lee", "--date-published", "2005-06-01",
            "--croissant", out, "--no-near-dups", "--json", tmp_path / "audit.json")
    assert r.code == 0, r.output
    doc = json.loads(out.read_text())
    pii = json.loads((tmp_path / "audit.json").read_text())["pii"]
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    f = doc["distribution"][0]
    assert f["sha256"] == hashlib.sha256(rt.read_bytes()).hexdigest()
    assert (out.parent / f["contentUrl"]).resolve() == rt.resolve()
    assert [x["name"] for x in doc["recordSet"][0]["field"]] == ["text", "label"]
    assert doc["creator"]["name"] == "Bo Pang and Lillian Lee" and doc["datePublished"] == "2005-06-01"
    assert doc["url"].startswith("https://www.cs.cornell.edu")
    rai_pii = doc["rai:personalSensitiveInformation"]  # says what the audit found, kind by kind
    if pii:
        assert "found personal data in" in rai_pii and "of 120 examples" in rai_pii
        assert all(f"{kind}: {n}" in rai_pii for kind, n in pii.items()), (pii, rai_pii)
    else:
        assert "found no personal data in 120 examples" in rai_pii
    assert "imbalance ratio" in doc["rai:dataLimitations"] and "exact duplicates" in doc["rai:dataLimitations"]
    assert "research" in doc["rai:dataUseCases"]
    ds = mlc.Dataset(jsonld=str(out))  # raises mlcroissant.ValidationError on any error
    recs = list(itertools.islice(ds.records("examples"), 3))
    first = json.loads(rt.read_text().splitlines()[0])
    assert recs[0]["examples/text"].decode() == first["text"]
    assert recs[0]["examples/label"].decode() == first["label"]


def test_croissant_reports_personal_data_found(cli, tmp_path) -> None:
    from tunewise.rights.croissant import validate

    data = tmp_path / "pii.jsonl"
    rows = [{"prompt": f"Write to customer {i}", "completion": f"Mail sent to jane.doe{i}@example.com"} for i in range(4)]
    rows.append({"prompt": "Say hi", "completion": "hi"})
    data.write_text("".join(json.dumps(x) + "\n" for x in rows))
    out = tmp_path / "pii.croissant.json"
    r = cli("audit", data, "--croissant", out, "--no-near-dups")
    assert r.code == 0, r.output
    doc = json.loads(out.read_text())
    assert [x["name"] for x in doc["recordSet"][0]["field"]] == ["prompt", "completion"]
    assert "found personal data in 4 of 5 examples" in doc["rai:personalSensitiveInformation"]
    assert validate(out) == []


def test_pilot_card_options_are_checked_before_training(cli, rt, tmp_path) -> None:
    r = cli("pilot", rt, "--model", "tfidf-logreg", "--use", "comercial", "--out", tmp_path / "run")
    assert r.code == 2 and "Did you mean 'commercial'" in r.stderr and not (tmp_path / "run").exists()
    r = cli("pilot", rt, "--model", "tfidf-logreg", "--base-model-license", "gema", "--out", tmp_path / "run")
    assert r.code == 2 and "Did you mean 'gemma'" in r.stderr and "Traceback" not in r.output


def test_dataset_card_carries_the_verdict(tmp_path) -> None:
    from tunewise.audit import audit_file, write_card

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": f"mail jane{i}@example.com", "label": "a" if i % 2 else "b"}) + "\n"
                            for i in range(6)))
    rep = audit_file(data, license="CC-BY-SA-4.0", intended_use="commercial", base_model_license="gemma",
                     near_dups=False)
    text = write_card(rep, tmp_path / "card.md").read_text()
    assert "**Rights verdict:** commercial use: allowed with obligations (data CC-BY-SA-4.0 + base model gemma)" in text
    assert "[gemma]" in text and "GDPR: personal data in 6 of 6 training examples" in text
