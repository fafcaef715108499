"""License parsing/classification with license-expression, provenance from options or datacard.yaml."""

from __future__ import annotations

import pytest

from tunewise.audit.license import parse_license, provenance
from tunewise.errors import BadInputError


@pytest.mark.parametrize("expr,use,valid", [
    ("MIT", "commercial", True),
    ("apache-2.0", "commercial", True),
    ("CC-BY-SA-4.0", "commercial", True),
    ("CC0-1.0", "commercial", True),
    ("CC-BY-NC-4.0", "non-commercial", True),
    ("MIT AND CC-BY-NC-SA-4.0", "non-commercial", True),
    ("Apache-2.0 OR CC-BY-NC-4.0", "commercial", True),
    ("LicenseRef-research-use", "non-commercial", True),
    ("LicenseRef-acme-internal", "unknown", True),
    ("CC-BY-ND-4.0", "unknown", True),
    ("Foo-1.0", "unknown", False),
    ("MIT OR", "unknown", False),
    (None, "unknown", False),
])
def test_classification(expr, use, valid):
    info = parse_license(expr)
    assert (info.use, info.valid) == (use, valid)


def test_normalises_case():
    assert parse_license("apache-2.0").normalized == "Apache-2.0"


def test_commercial_intent_warnings(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text":"a","label":"b"}\n')
    info, probs = provenance(data, license="CC-BY-NC-4.0", source=None, intended_use="commercial")
    assert any("does not allow commercial use" in p.error for p in probs)
    info, probs = provenance(data, license=None, source=None, intended_use="commercial")
    assert any("no license is recorded" in p.error for p in probs)
    info, probs = provenance(data, license="MIT", source="https://example.org", intended_use="commercial")
    assert probs == [] and info.use == "commercial" and info.source == "https://example.org"


def test_sidecar_datacard(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text":"a","label":"b"}\n')
    (tmp_path / "datacard.yaml").write_text("license: CC-BY-4.0\nsource: https://example.org/data\nlanguage: en\n")
    info, probs = provenance(data, license=None, source=None, intended_use="commercial")
    assert info.expression == "CC-BY-4.0" and info.source == "https://example.org/data" and not probs
    assert info.provenance_from.endswith("datacard.yaml") and info.datacard["language"] == "en"
    info, _ = provenance(data, license="MIT", source=None, intended_use=None)  # options win
    assert info.expression == "MIT"


def test_bad_datacard_is_bad_input(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text":"a","label":"b"}\n')
    (tmp_path / "d.jsonl.datacard.yaml").write_text("license: MIT\nlicence: typo\n")
    with pytest.raises(BadInputError) as exc:
        provenance(data, license=None, source=None, intended_use=None)
    assert "licence" in exc.value.render() and "Did you mean 'license'" in exc.value.render()
