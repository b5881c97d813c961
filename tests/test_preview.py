"""`secmon dashboards preview`: the pages render from the local engine, and in headless Chromium
every panel draws its data. The screenshots are kept in build/preview/."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from conftest import DASHBOARD_SCHEMA

from secmon import settings
from secmon.grafana import dashboards
from secmon.grafana.preview import Result, render, write_pages

SCREENSHOTS = settings.PREVIEW_DIR


@pytest.fixture(scope="module")
def pages(dashboard_data, tmp_path_factory):
    pg_url, start, end = dashboard_data
    output = tmp_path_factory.mktemp("preview")
    return write_pages(dashboards.load_all(), pg_url, DASHBOARD_SCHEMA, output, start, end, refresh_seconds=30)


def test_every_panel_has_data_and_no_error(pages):
    assert len(pages) == 2
    for page in pages:
        assert page.errors == [] and page.panels_with_data == page.panels, page.path
        text = page.path.read_text()
        assert '<meta http-equiv="refresh" content="30">' in text
        assert "https://" not in text.split("<script>", 1)[0], "the page must not load anything from the network"
    assert (pages[0].path.parent / "index.html").exists()


def test_an_empty_or_failing_panel_says_so():
    dashboard = dashboards.load_all()["secmon-website-activity"]
    results = {panel["id"]: Result(error='relation "x" does not exist') for panel in dashboard["panels"]}
    results[1] = Result(columns=["time"], rows=[])
    start = datetime(2024, 1, 25, 12, tzinfo=UTC)
    page = render(dashboard, results, start, start + timedelta(hours=1))
    assert page.count('class="error"') == len(results) - 1 and 'class="nodata">No data' in page
    assert 'data-drawn="true"' not in page


@pytest.fixture(scope="module")
def browser():
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.fail(
            "Debian's chromium and chromium-driver are missing: `make test-tools` (part of `make test`) installs them"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1600,1200",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


# Per panel: data-drawn (set by Plotly's promise for charts), rows, and what it drew.
PANEL_STATE = """
return Array.from(document.querySelectorAll('section.panel')).map(panel => ({
  title: panel.querySelector('h2').textContent,
  type: panel.dataset.panelType,
  drawn: panel.dataset.drawn === 'true',
  rows: Number(panel.dataset.rows),
  traces: panel.querySelectorAll('.main-svg g.trace').length,
  marks: panel.querySelectorAll('.main-svg g.point path, .main-svg path.js-line, .main-svg g.slice').length,
  tableRows: panel.querySelectorAll('tbody tr').length,
  stat: (panel.querySelector('.stat .value') || {}).textContent || '',
}));
"""


@pytest.mark.tools
def test_every_panel_draws_its_data_in_chromium(pages, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for page in pages:
        browser.get(page.path.as_uri())
        WebDriverWait(browser, 30).until(
            lambda driver: all(panel["drawn"] for panel in driver.execute_script(PANEL_STATE)),
            message=f"{page.path.name}: not every panel was drawn",
        )
        for panel in browser.execute_script(PANEL_STATE):
            where = f"{page.path.name} / {panel['title']}"
            assert panel["rows"] > 0, where
            if panel["type"] in ("timeseries", "barchart", "piechart"):
                assert panel["traces"] >= 1 and panel["marks"] >= 1, where
            elif panel["type"] == "table":
                assert panel["tableRows"] == panel["rows"], where
            elif panel["type"] == "stat":
                assert panel["stat"].strip().isdigit(), where
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1600, height)
        screenshot = SCREENSHOTS / page.path.with_suffix(".png").name
        assert browser.save_screenshot(str(screenshot))
        assert screenshot.stat().st_size > 50_000, "a screenshot this small is a blank page"
