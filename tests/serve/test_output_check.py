"""The JSON output check records its outcome both ways: 'allow' for valid JSON, 'flag' with the parse error."""

from __future__ import annotations

from tunewise.guardrails import Guardrails


def test_json_output_check_records_valid_and_invalid() -> None:
    g = Guardrails(mode="block")
    good = g.check_text('{"topic": "sport"}', expect_json=True)
    bad = g.check_text('{"topic": sport', expect_json=True)
    assert good.ok and [(d.rule, d.action) for d in good.decisions] == [("output.json_valid", "allow")]
    assert not bad.ok and [(d.rule, d.action) for d in bad.decisions] == [("output.json_valid", "flag")]
    assert "not valid JSON" in bad.decisions[0].detail
    # no JSON asked for: no JSON decision at all
    assert not [d for d in g.check_text("sport").decisions if d.rule == "output.json_valid"]
