"""The license table (one expectation per row and use) and the data + base model + use verdict."""

from __future__ import annotations

from datetime import date

import pytest

from tunewise.rights import STATUSES, rows, verdict
from tunewise.rights.table import find, get, load_table
from tunewise.rights.verdict import judge_row

OK, OB, UNK, NO = "allowed", "allowed-with-obligations", "unknown", "not-allowed"
# (commercial, internal, research) per row: a new row needs its expectations written here.
EXPECTED = {
    "CC0-1.0": (OK, OK, OK),
    "CC-BY-4.0": (OB, OK, OB),
    "CC-BY-SA-4.0": (OB, OK, OB),
    "CC-BY-ND-4.0": (UNK, OK, OB),
    "CC-BY-NC-4.0": (NO, NO, OB),
    "CC-BY-NC-SA-4.0": (NO, NO, OB),
    "CC-BY-NC-ND-4.0": (NO, NO, OB),
    "ODC-By-1.0": (OB, OK, OB),
    "ODbL-1.0": (OB, OK, OB),
    "CDLA-Permissive-2.0": (OB, OK, OB),
    "CDLA-Permissive-1.0": (OB, OK, OB),
    "CDLA-Sharing-1.0": (OB, OK, OB),
    "LicenseRef-openai-output": (OB, OB, OB),
    "LicenseRef-model-output": (OB, OB, OB),
    "LicenseRef-research-use": (NO, NO, OB),
    "MIT": (OB, OK, OB),
    "Apache-2.0": (OB, OK, OB),
    "llama3": (OB, OB, OB),
    "llama3.1": (OB, OB, OB),
    "llama3.2": (OB, OB, OB),
    "llama3.3": (OB, OB, OB),
    "gemma": (OB, OB, OB),
    "qwen": (OB, OB, OB),
    "qwen-research": (NO, NO, OB),
}


def test_every_row_has_expectations_and_a_dated_source() -> None:
    table = rows()
    assert {r.id for r in table} == set(EXPECTED)
    for r in table:
        assert str(r.source_url).startswith("https://"), r.id
        assert date(2026, 1, 1) <= r.checked_on <= date.today(), r.id


@pytest.mark.parametrize("row_id", sorted(EXPECTED))
def test_row_verdict_per_use(row_id: str) -> None:
    row = get(row_id)
    role = "base model" if row.applies_to == ["model"] else "data"
    got = tuple(judge_row(row, use, role).status for use in ("commercial", "internal", "research"))
    assert got == EXPECTED[row_id]
    # the dimensions agree with the verdicts: no commercial right -> never allowed commercially
    if row.commercial == "no" or row.research_only:
        assert got[0] == NO
    if got[0] == OB:
        assert judge_row(row, "commercial", role).obligations or row.commercial == "conditional"


def test_aliases_and_case() -> None:
    assert find("cc-by-nc-4.0").id == "CC-BY-NC-4.0"
    assert find("LicenseRef-llama3.1").id == "llama3.1"
    assert find("nothing-like-it") is None


def test_catalog_open_model_licenses_are_all_in_the_table() -> None:
    from tunewise.catalog import load_catalog

    cat = load_catalog()
    missing = {m.id: m.license for m in cat.open_models.values() if find(m.license) is None}
    assert not missing


def test_cc_by_nc_data_for_commercial_use_is_not_allowed() -> None:
    v = verdict("CC-BY-NC-4.0", "apache-2.0", "commercial")
    assert v.status == NO
    assert any("CC-BY-NC-4.0 does not allow commercial use" in r for r in v.reasons)
    assert verdict("CC-BY-NC-4.0", "apache-2.0", "research").status == OB


def test_llama_base_for_commercial_use_lists_its_obligations() -> None:
    v = verdict("CC0-1.0", "llama3.1", "commercial")
    assert v.status == OB
    texts = " | ".join(o["text"] for o in v.obligations)
    assert "700 million monthly active users" in texts
    assert '"Built with Llama"' in texts and 'begins with "Llama"' in texts
    assert {s["license"] for s in v.sources} == {"CC0-1.0", "llama3.1"}
    assert all(s["url"].startswith("https://") and s["checked_on"] for s in v.sources)
    # internal use: nothing is distributed, so the naming and notice clauses drop out; the user cap stays
    inside = " | ".join(o["text"] for o in verdict("CC0-1.0", "llama3.1", "internal").obligations)
    assert "700 million" in inside and "Built with Llama" not in inside


def test_expressions_or_takes_the_better_and_takes_both() -> None:
    assert verdict("MIT OR CC-BY-NC-4.0", None, "commercial").status == OB
    both = verdict("MIT AND CC-BY-NC-4.0", None, "commercial")
    assert both.status == NO and any("MIT" in r for r in both.reasons)


def test_unknown_and_unlisted_licenses() -> None:
    assert verdict(None, None, "commercial").status == UNK
    assert verdict("LicenseRef-acme-internal", None, "research").status == UNK
    assert verdict("MIT", "unknown", "commercial").status == UNK
    gpl = verdict("GPL-3.0-only", None, "commercial")  # in SPDX, not in the table: ScanCode category
    assert gpl.status == OB and "not in the table" in gpl.obligations[0]["text"]
    assert verdict("CC-BY-4.0", "qwen-research", "commercial").status == NO


def test_every_status_is_known_and_the_note_says_not_legal_advice() -> None:
    for use in ("commercial", "internal", "research", "non-commercial"):
        d = verdict("CC-BY-SA-4.0", "gemma", use).to_dict()
        assert d["status"] in STATUSES and "not legal advice" in d["note"]


def test_bad_table_row_is_reported_with_its_line(tmp_path) -> None:
    from tunewise.errors import BadInputError
    from tunewise.rights.table import table_path

    bad = tmp_path / "licenses.yaml"
    bad.write_text(table_path().read_text(encoding="utf-8").replace('commercial: "no"', 'commercial: "maybe"', 1),
                   encoding="utf-8")
    with pytest.raises(BadInputError) as exc:
        load_table(bad)
    assert "licenses.yaml:" in exc.value.render() and "commercial" in exc.value.render()
