"""The HTML report as an evaluator sees it, rendered in headless Chromium."""

from __future__ import annotations

import shutil

import pytest

from mzops import report
from bundles import evaluated_run

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.requests = requests
        yield page
        browser.close()


def test_evaluator_sees_scores_clauses_findings_and_waivers(page, tmp_path):
    run = evaluated_run(tmp_path)
    path = tmp_path / "report.html"
    path.write_text(report.render(run, "html"), encoding="utf-8")
    page.goto(path.as_uri())
    assert page.requests == [path.as_uri()], "the report loads nothing from anywhere"
    assert "合规检查报告" in page.inner_text("h1") and "compliance report" in page.inner_text("h1")
    headings = page.locator("h2").all_inner_texts()
    assert len(headings) == 9 and headings[1].startswith("二、按条款汇总") and headings[-1].startswith("八、签署")
    # per-target scores: every target is a visible row, the unreachable one says so
    scores = page.locator("table").nth(0)
    assert scores.locator("tr").count() == 1 + len(run.targets)
    assert "不可达 / unreachable" in scores.inner_text()
    # per-clause roll-up with the evaluation report's verdicts
    clauses = page.locator("table").nth(1).inner_text()
    assert "8.1.4.1 a)" in clauses and "L3-CES1-01" in clauses and "部分符合" in clauses
    # each failing rule is a visible finding with evidence and its remediation hint
    failing = sum(1 for t in run.targets for r in t.results if r.status in ("fail", "error"))
    findings = page.locator("div.finding:not(.manual)")
    assert findings.count() == failing
    first = findings.first
    assert first.is_visible()
    text = first.inner_text()
    assert "证据 Evidence" in text and "整改建议 Remediation" in text
    assert page.get_by_text("/etc/login.defs:", exact=False).first.is_visible()
    # a verdict per asset and clause: a row per assessed asset, a cell per clause
    matrix = page.locator("table.matrix")
    assessed = [t for t in run.targets if t.status == "assessed"]
    assert matrix.locator("tr").count() == 1 + len(assessed) and matrix.is_visible()
    assert "✗" in matrix.inner_text() and "◐" in matrix.inner_text()
    # waivers: the one in force with its approver, the expired one flagged
    waivers = page.locator("xpath=//h2[starts-with(., '五、豁免')]/following-sibling::table[1]").inner_text()
    assert "李娜 (security admin)" in waivers and "已过期" in waivers
    page.screenshot(path=str(tmp_path / "report.png"), full_page=False)


def test_the_summary_of_2000_assets_opens_and_links_every_asset_page(page, tmp_path):
    """At fleet size the summary is what an evaluator opens first: it stays small, loads
    nothing from anywhere, shows the heat map and leads to each asset's evidence."""
    import time

    from bundles import fleet_run
    from mzops.report import site

    run = fleet_run(tmp_path, 2000)
    out = tmp_path / "report"
    size = site.write(run, out, [])
    assert size < 2_000_000, f"summary of 2,000 assets is {size} bytes"
    index = out / "index.html"
    started = time.monotonic()
    page.goto(index.as_uri())
    print(f"summary of 2,000 assets: {size / 1e6:.2f} MB, loaded in {time.monotonic() - started:.2f} s")
    assert page.requests == [index.as_uri()], "the summary loads nothing from anywhere"
    headings = page.locator("h2").all_inner_texts()
    assert headings[0].startswith("一、总览") and headings[-1].startswith("九、签署") and len(headings) == 9
    heat = page.locator("svg[aria-label='clause by zone heat map']")
    assert heat.is_visible()
    clauses = {r.clause for t in run.targets for r in t.results}
    assert heat.locator("rect").count() == len(clauses) * 4          # every clause in every zone
    every = page.locator("xpath=//h2[starts-with(., '八、全部对象')]/following-sibling::table[1]")
    assert every.locator("tr").count() == 1 + 2000
    unassessed = page.locator("xpath=//h2[starts-with(., '六、未能评估')]/following-sibling::table[1]")
    assert unassessed.locator("tr").count() == 1 + 50
    page.locator("a", has_text="host-0003").first.click()
    assert page.url.endswith("/assets/host-0003.html")
    assert page.get_by_text("changed on this host").first.is_visible()
    page.locator("a", has_text="汇总 / Summary").click()
    assert page.url == index.as_uri()
