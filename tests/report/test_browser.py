"""Headless Chromium opens the report from file://: no console errors, no network, plots drawn, the
frontier shows every candidate; a screenshot is kept in test-artifacts/."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_report_renders_offline_in_chromium(tiny_run, artifacts_dir, chromium) -> None:
    from playwright.sync_api import sync_playwright

    url = (tiny_run.out / "report.html").resolve().as_uri()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(**chromium)
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:", "blob:", "about:")) else None)
        page.goto(url)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5", timeout=30000)
        n_svg = page.locator(".js-plotly-plot svg.main-svg").count()
        shown = page.evaluate("""() => {
            const gd = document.getElementById('plot-frontier');
            const ids = [];
            for (const t of gd.data) { if (t.meta && t.meta.candidates) ids.push(...t.meta.candidates); }
            return ids;
        }""")
        labels = page.evaluate("""() => Array.from(document.querySelectorAll('#plot-frontier .textpoint text'))
                                    .map(e => e.textContent)""")
        page.screenshot(path=str(artifacts_dir / "report.png"), full_page=False)
        page.locator("#frontier").screenshot(path=str(artifacts_dir / "report-frontier.png"))
        browser.close()
    ids = {c["id"] for c in tiny_run.report["decision"]["candidates"]}
    assert errors == []
    assert requests == []  # works offline: nothing fetched from the network
    assert n_svg >= 5
    assert sorted(shown) == sorted(ids)
    assert set(labels) == ids  # drawn on the chart, not only in the data
    assert (artifacts_dir / "report.png").stat().st_size > 10_000
