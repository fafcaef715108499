"""The HTML report, report.json and summary.md of a real tiny run: self-contained, every section,
every candidate, every price with date and source, provenance marks."""

from __future__ import annotations

import copy
import re

import pytest

pytestmark = pytest.mark.slow  # uses the shared real tiny run

SECTIONS = ("summary", "verdict", "frontier", "candidates", "unknown-quality", "serving", "tco", "learning-curve", "per-class", "latency", "audit",
            "sensitivity", "prices", "assumptions", "monitoring", "run")


@pytest.fixture(scope="module")
def html(tiny_run) -> str:
    return (tiny_run.out / "report.html").read_text(encoding="utf-8")


def test_html_is_one_self_contained_file(html: str) -> None:
    assert not re.search(r"<script[^>]+src=", html), "external script"
    assert not re.search(r"<link[^>]+href=[\"']https?:", html), "external stylesheet"
    # (plotly.js itself contains CDN URLs as unused defaults; the browser test proves no request is made)
    assert "Plotly.newPlot" in html and len(html) > 3_000_000  # plotly.js inlined once


def test_every_section_present(html: str) -> None:
    for sid in SECTIONS:
        assert f'id="{sid}"' in html, sid


def test_every_candidate_in_table_and_frontier(tiny_run, html: str) -> None:
    ids = [c["id"] for c in tiny_run.report["decision"]["candidates"]]
    for cid in ids:
        assert f'data-candidate="{cid}"' in html
    frontier = html[html.index('id="plot-frontier"'):html.index('id="candidates"')]
    for cid in ids:
        assert f'"{cid}"' in frontier, cid


def test_figures_are_marked_and_unknowns_say_so(tiny_run, html: str) -> None:
    for mark in ("prov-measured", "prov-estimated", "prov-user-given"):
        assert mark in html
    assert "quality unknown" in html
    assert "Prices are estimates" in html
    rec = tiny_run.report["decision"]["recommended"]
    assert tiny_run.report["summary"]["recommendation"] in html
    assert f'data-candidate="{rec}" class="recommended' in html


def test_verdict_rule_and_deciding_figures_are_shown(tiny_run, html: str) -> None:
    import html as h

    text = h.unescape(html)
    v = tiny_run.report["decision"]["verdict"]
    word = {"do-not-fine-tune": "do not fine-tune", "fine-tune": "fine-tune"}[v["verdict"]]
    verdict = text[text.index('id="verdict"'):text.index('id="frontier"')]
    assert word in verdict and v["headline"] in verdict
    assert "The decision rule:" in verdict and "equivalence margin" in verdict
    for reason in v["reasons"]:
        assert reason in text
    for cid, c in v["comparisons"].items():  # each paired difference, in points, in the candidates table
        row = text[text.index(f'data-candidate="{cid}"'):]
        assert f"{c['diff'] * 100:+.1f} pts" in row[:row.index("</tr>")]
    serving = text[text.index('id="serving"'):text.index('id="tco"')]
    for cid in ("tfidf", "minilm"):
        chosen = tiny_run.report["estimates"]["candidates"][cid]["serving"]["chosen"]
        assert chosen["label"] in serving
    md = (tiny_run.out / "summary.md").read_text(encoding="utf-8")
    assert v["headline"] in md and "Rule:" in md


def test_every_price_shows_date_and_source(tiny_run, html: str) -> None:
    for pid, p in tiny_run.report["estimates"]["prices"].items():
        assert pid in html
        assert p["source_url"] in html
        assert p["checked_on"] in html
        if p["stale"]:
            assert "(stale)" in html


def test_measured_sections_show_this_runs_numbers(tiny_run, html: str) -> None:
    rep = tiny_run.report
    audit = rep["audit"]
    assert f"total {audit['tokens']['o200k_base']['total']:,}" in html
    assert "Examples needed for target" in html
    lc = rep["pilots"]["tfidf"]["learning_curve"]
    assert lc["target"]["answer"] in html
    for cid in ("tfidf", "minilm"):
        assert f'id="plot-cm-{cid}"' in html
        p50 = rep["pilots"][cid]["latency_ms"]["p50"]
        assert f"{p50:,.2f}" in html
    assert 'id="plot-latency"' in html and 'id="plot-tco"' in html and 'id="plot-lc-tfidf"' in html
    for s in rep["sensitivity"]:
        assert s["label"] in html
    for m in rep["monitoring"]:
        assert m["what"] in html


def test_report_json_has_everything_the_report_shows(tiny_run) -> None:
    rep = tiny_run.report
    for key in ("meta", "plan", "summary", "findings", "decision", "sensitivity", "estimates", "pilots",
                "audit", "assumptions", "monitoring", "steps"):
        assert key in rep, key
    assert rep["summary"]["risks"], "the tiny plan has a research-use license with commercial intent"
    assert any("commercial" in f["detail"] for f in rep["findings"])
    assert {a["provenance"] for a in rep["assumptions"]} <= {"measured", "estimated", "user-given"}


def test_summary_md(tiny_run) -> None:
    md = (tiny_run.out / "summary.md").read_text(encoding="utf-8")
    assert md.startswith("# tiny test plan")
    assert "Prices are estimates" in md and "&#39;" not in md
    for c in tiny_run.report["decision"]["candidates"]:
        assert f"| {c['id']}" in md


def test_render_shows_a_failed_pilot_and_a_missing_cost(tiny_run) -> None:
    from tunewise.report.render import render_html, render_markdown

    rep = copy.deepcopy(tiny_run.report)
    rep["pilots"]["minilm"] = {"status": "failed", "reason": "RuntimeError: out of memory", "candidate": "minilm"}
    html = render_html(rep)
    assert "minilm: failed — RuntimeError: out of memory" in html
    assert "minilm" in render_markdown(rep)
