"""The pages in headless Chromium over a generated home of 1,000 endpoints (one with a week of 10-minute
windows × 12 results): the overview's counts, filter, status filter, sorting and pagination against what
the home holds, and the week-long endpoint page (a chart point per window, the heatmap's latest windows).
Screenshots go to the test's tmp folder."""

from __future__ import annotations

import httpx
import pytest
from ui_browser import VIEWPORT, open_page, served

from modelmon.testing.synthetic import synthetic_home

pytestmark = pytest.mark.slow
ENDPOINTS = 1_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    home = synthetic_home(tmp_path_factory.mktemp("large") / "home", endpoints=ENDPOINTS, days=7, detailed=1, seed=7)
    with served(home.home, home.project) as url:
        yield home, url


def rows(page) -> list[str]:
    return page.locator("#endpoints tbody tr td:first-child a").all_inner_texts()


def after_next_load(page, action) -> None:
    """Do ``action`` and wait until the overview drew the API's next answer."""
    before = page.get_attribute("#page", "data-loads")
    action()
    page.wait_for_function(f"document.getElementById('page').dataset.loads !== '{before}'")


def test_overview_of_a_thousand_endpoints(big, browser, shots):
    home, url = big
    statuses = httpx.get(f"{url}/api/overview", timeout=60).json()["statuses"]
    page, watch = open_page(browser, url + "/")
    page.screenshot(path=shots / "large_overview.png")
    assert page.inner_text("#page .page-head .sub") == f"1,000 endpoints in project {home.project}"
    assert page.locator("#endpoints tbody tr").count() == 50
    assert page.inner_text("#page-of") == "page 1 of 20"
    chips = {c.get_attribute("data-status"): int(c.locator("b").inner_text().replace(",", ""))
             for c in page.locator("#status-counts .chip").all()}
    assert chips == {k: v for k, v in statuses.items() if v} and sum(chips.values()) == ENDPOINTS
    names = sorted(home.names.values())
    after_next_load(page, lambda: page.click("th[data-sort=name]"))
    assert rows(page) == names[:50]
    after_next_load(page, lambda: page.click("#next"))
    assert rows(page) == names[50:100] and page.inner_text("#page-of") == "page 2 of 20"
    assert "page=2" in page.url and "sort=name" in page.url
    after_next_load(page, lambda: page.click("th[data-sort=name]"))  # again: descending, back to page 1
    assert rows(page) == names[::-1][:50]
    assert watch.problems == []
    page.close()


def test_filter_and_status_filter(big, browser, shots):
    home, url = big
    page, watch = open_page(browser, url + "/?sort=name&order=asc")
    after_next_load(page, lambda: page.fill("#filter", "-0099"))
    assert rows(page) == sorted(n for n in home.names.values() if "-0099" in n) and len(rows(page)) == 10
    after_next_load(page, lambda: page.fill("#filter", ""))
    detected = page.locator('#status-counts .chip[data-status="detected"]')
    expected = int(detected.locator("b").inner_text().replace(",", ""))
    after_next_load(page, detected.click)
    badges = page.locator("#endpoints tbody tr td:nth-child(3) .badge").all_inner_texts()
    assert set(badges) == {"detected"} and len(badges) == min(50, expected)
    assert page.inner_text("#page .page-head .sub").startswith(f"{expected:,} endpoint")
    page.screenshot(path=shots / "large_overview_detected.png")
    after_next_load(page, lambda: page.fill("#filter", "no such endpoint"))
    assert "No endpoint matches these filters." in page.inner_text("#page .table-wrap")
    assert watch.problems == []
    page.close()


def test_sorting_by_a_measured_column(big, browser):
    _, url = big
    page, watch = open_page(browser, url + "/")
    after_next_load(page, lambda: page.click("th[data-sort=requests_per_min]"))
    values = [float(v.replace(",", "")) for v in
              page.locator("#endpoints tbody tr td:nth-child(5)").all_inner_texts() if v != "—"]
    assert len(values) == 50 and values == sorted(values, reverse=True)
    assert page.get_attribute("th[data-sort=requests_per_min]", "aria-sort") == "descending"
    assert watch.problems == []
    page.close()


def test_the_week_long_endpoint(big, browser, shots):
    home, url = big
    endpoint_id = home.detailed_ids[0]
    page, watch = open_page(browser, f"{url}/endpoints/{endpoint_id}")
    page.screenshot(path=shots / "large_endpoint.png", full_page=True)
    charts = page.locator(".result-chart")
    assert charts.count() == 12
    assert {charts.nth(i).get_attribute("data-points") for i in range(12)} == {str(home.windows)} == {"1008"}
    heat = page.locator("#heatmap")
    shown = int(heat.get_attribute("data-windows"))
    assert 100 < shown < home.windows  # the latest windows that fit, and a note that says so
    assert f"Showing the latest {shown} of 1,008 windows" in heat.inner_text()
    last = heat.locator(f'rect.cell[data-window="{home.windows - 1}"]')
    assert last.count() == len(home.features)
    last.first.click()  # the latest window has samples: its histograms
    page.wait_for_selector(f'#histogram[data-feature="{home.features[0]}"] svg')
    assert watch.problems == []
    page.close()


def test_pages_behind_an_access_token(big, browser):
    """``?token=`` once: the cookie it sets carries every page, script and API call after it."""
    home, _ = big
    with served(home.home, home.project, token="s3cret") as url:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        assert page.goto(url + "/").status == 401
        page.goto(url + "/?token=s3cret")
        page.wait_for_selector("#page[data-ready=true]")
        assert page.locator("#endpoints tbody tr").count() == 50
        page.close()
        page, watch = open_page(context, url + "/apps")  # no token in the URL: the cookie
        assert page.locator("#apps-table tbody tr").count() == 3 and watch.problems == []
        context.close()
