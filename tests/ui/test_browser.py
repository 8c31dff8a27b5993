"""The pages and the offline report in headless Chromium over the real demo's data: no console errors or failed
requests, a chart point per window, overview → endpoint → heatmap cell → that window's histograms, the time
range, UTC times whatever the browser's zone, the report opened from a file with the network blocked, and the
alerts of an alert config evaluated over the demo's writer stream. Screenshots of every page go to the test's
tmp folder (their path is printed)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import httpx
import numpy as np
import pandas as pd
import pytest
import test_api_alerts
from alert_activations import Alerting, writer_stream_events
from ui_browser import VIEWPORT, Watch, open_page, run_demo, served

from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.core.paths import ProjectPaths
from modelmon.core.results import ModelMonitoringApplicationResult, ResultKindApp, ResultStatusApp
from modelmon.endpoints.registration import register_model_endpoint
from modelmon.events import WriterEvent
from modelmon.writer import ResultWriter

pytestmark = pytest.mark.slow
PAGES = ["/", "/endpoints/cancer-shift", "/endpoints/cancer-stable", "/apps", "/alerts"]
#: The alert configs evaluated over the demo's writer events (the demo itself runs no alerts function).
ALERTS = [{"name": "drift", "severity": "high", "trigger": {"events": ["data_drift_detected"]},
           "notifications": [{"kind": "log"}]},
          {"name": "quality", "severity": "medium", "trigger": {"events": ["mm_app_anomaly_detected"]},
           "notifications": [{"kind": "log"}]}]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The real ``modelmon demo`` (three endpoints, eight one-minute windows; its alerts function evaluated the
    demo's own alert config), its writer stream evaluated against :data:`ALERTS` too, served by ``modelmon ui``."""
    home = tmp_path_factory.mktemp("demo") / "home"
    run_demo(home)
    backend = make_backend(Settings(home=str(home), project="demo"))
    try:
        alerting = Alerting(backend, ProjectPaths("demo"), ALERTS)
        assert alerting.evaluate(writer_stream_events(backend, ProjectPaths("demo"))) > 0
        alerting.deliver()
    finally:
        backend.close()
    with served(home, "demo") as url:
        yield home, url


def api(url: str, path: str) -> dict:
    response = httpx.get(f"{url}{path}", timeout=60)
    response.raise_for_status()
    return response.json()


def utc_window(start_ms: int, end_ms: int) -> str:
    """How the pages write a window: ``2026-11-30 19:40–19:41 UTC``."""
    start, end = (datetime.fromtimestamp(t / 1000, UTC) for t in (start_ms, end_ms))
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"


def utc_time(ms: int) -> str:
    """How the pages write a moment: ``2026-11-30 19:41``."""
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M}"


def after_scroll_events(page) -> None:
    """Return once the browser has run two more frames, so the events of a scroll just made have fired."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def test_every_page_loads_without_errors(demo, browser, shots):
    _, url = demo
    problems = {}
    for path in PAGES:  # every page's screenshot first, then what went wrong on any of them
        page, watch = open_page(browser, url + path)
        page.wait_for_load_state("networkidle")  # the endpoint page's histograms come after it is drawn
        page.screenshot(path=shots / f"demo{path.replace('/', '_')}.png", full_page=True)
        shown = page.locator("#page .error").all_inner_texts()
        problems[path] = watch.problems + [f"on the page: {text}" for text in shown]
        page.close()
    assert problems == {path: [] for path in PAGES}
    page, watch = open_page(browser, url + "/")
    assert page.locator("#endpoints tbody tr").count() == 3
    assert page.locator("#nav-alerts").is_visible()  # the demo's shifted endpoint raised alerts
    page.close()


def test_charts_have_a_point_per_window(demo, browser):
    _, url = demo
    detail = api(url, "/api/endpoints/cancer-shift")
    windows = len(detail["windows"])
    assert windows >= 8 and len(detail["results"]) == 12  # the demo's eight windows (and any it closed since)
    page, watch = open_page(browser, url + "/endpoints/cancer-shift")
    charts = page.locator(".result-chart")
    assert charts.count() == len(detail["results"])
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.get_attribute("data-points") == str(windows)
        assert chart.locator("circle.pt").count() == windows  # one status-coloured point per window
    heat = page.locator("#heatmap")
    features = len(detail["feature_drift"]["features"])
    assert (heat.get_attribute("data-windows"), heat.get_attribute("data-features")) == (str(windows), str(features))
    assert heat.locator("rect.cell").count() == features * windows
    metrics = page.locator(".metric-chart")
    assert [metrics.nth(i).get_attribute("data-points") for i in range(metrics.count())] == \
        [str(len(m["points"])) for m in sorted(detail["metrics"], key=lambda m: (m["app"], m["metric"]))]
    traffic = detail["traffic"]  # the demo's minutes of traffic, a point a minute in the default 7 days
    assert traffic["step_ms"] == 60_000 and len(traffic["points"]) >= 8
    assert page.locator("#predictions-chart").get_attribute("data-points") == str(len(traffic["points"]))
    assert watch.problems == []
    page.close()
    overview = api(url, "/api/overview")
    page, watch = open_page(browser, url + "/")
    for row in overview["endpoints"]:
        spark = page.locator(f'tr[data-endpoint="{row["endpoint_id"]}"] .spark')
        assert spark.get_attribute("data-points") == str(len(row["sparkline"]))
        assert len(row["sparkline"]) >= 8
    page.close()


def test_overview_to_endpoint_to_a_windows_histograms(demo, browser, shots):
    _, url = demo
    detail = api(url, "/api/endpoints/cancer-shift")
    drift = detail["feature_drift"]
    page = browser.new_page(viewport=VIEWPORT, timezone_id="Asia/Kolkata")  # UTC+05:30: local times would show
    watch = Watch(page)
    page.goto(url + "/")
    page.click("#endpoints a:text-is('cancer-shift')")
    page.wait_for_selector("#page[data-ready=true]")
    assert page.url == f"{url}/endpoints/{detail['endpoint']['endpoint_id']}"
    feature, column = drift["features"][2], 3
    window = drift["windows"][column]
    page.click(f'#heatmap rect.cell[data-feature="{feature}"][data-window="{column}"]')
    page.wait_for_selector(f'#histogram[data-feature="{feature}"][data-start="{window["start_ms"]}"] svg')
    histograms = api(url, f"/api/endpoints/cancer-shift/histograms?start_ms={window['start_ms']}&feature={feature}")
    asked = [r for r in watch.requests if "/histograms?" in r and f"start_ms={window['start_ms']}" in r]
    assert asked and f"end_ms={window['end_ms']}" in asked[-1]  # the exact window, whatever the recorded period
    assert page.locator("#histogram").get_attribute("data-bins") == str(len(histograms["bins"]))
    assert page.locator("#histogram rect.bar.window").count() == len(histograms["bins"])
    panel = page.inner_text("#histogram-panel")
    assert f"Histograms of {feature}" in panel and utc_window(window["start_ms"], window["end_ms"]) in panel
    assert f"{histograms['window_rows']}" in panel and "tvd" in panel
    page.screenshot(path=shots / "demo_histogram.png", full_page=True)
    # Hovering the first result chart's last point shows that window in UTC. The click above scrolled the
    # heatmap into view, so the chart is scrolled back into the viewport first: a pointer moved to where the
    # chart lies off-screen reaches nothing and the tooltip stays hidden.
    chart = page.locator(".result-chart").first
    chart.scroll_into_view_if_needed()
    after_scroll_events(page)  # the scroll's event (which hides a tooltip) comes at the next frame
    point = chart.locator("circle.pt").last.bounding_box()
    page.mouse.move(point["x"] + point["width"] / 2, point["y"] + point["height"] / 2)
    tip = page.locator(".tooltip")
    tip.wait_for(state="visible")
    last = detail["windows"][-1]
    assert tip.inner_text().startswith(utc_window(last["start_ms"], last["end_ms"]))
    page.mouse.move(1, 1)  # leaving the chart hides the tooltip and empties it
    tip.wait_for(state="hidden")
    assert tip.inner_text() == ""
    assert watch.problems == []
    page.close()


def test_the_time_range_narrows_every_chart(demo, browser):
    _, url = demo
    detail = api(url, "/api/endpoints/cancer-shift")
    since = detail["windows"][4]["end_ms"]  # windows ending at or after the fifth one's end
    left = str(len(detail["windows"]) - 4)
    page, watch = open_page(browser, url + "/endpoints/cancer-shift")
    page.fill("#since", datetime.fromtimestamp(since / 1000, UTC).isoformat())
    page.click("#range button[type=submit]")
    page.wait_for_selector("#page[data-loads='2']")
    assert "since=" in page.url
    assert {page.locator(".result-chart").nth(i).get_attribute("data-points")
            for i in range(page.locator(".result-chart").count())} == {left}
    assert page.locator("#heatmap").get_attribute("data-windows") == left
    assert page.inner_text("#window-count").startswith(f"{left} analysed windows")
    assert watch.problems == []
    page.fill("#since", "yesterday")  # the API's own message (a 400), on the page
    page.click("#range button[type=submit]")
    page.wait_for_selector("#results .error")
    assert "expected a duration such as 30m/2h/1d" in page.inner_text("#results .error")
    page.close()


def test_the_report_opens_offline(demo, browser, shots, tmp_path):
    home, url = demo
    windows = str(len(api(url, "/api/endpoints/cancer-shift")["windows"]))
    out = tmp_path / "shift.html"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "modelmon", "report", "--home", str(home), "--project", "demo",
                           "--endpoint", "cancer-shift", "-o", str(out)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    print(f"report: {out.stat().st_size} bytes in {time.monotonic() - started:.1f}s")
    context = browser.new_context(viewport=VIEWPORT)
    asked = []

    def only_the_file(route):
        asked.append(route.request.url)
        if route.request.url == out.as_uri():
            route.continue_()
        else:
            route.abort()
    context.route("**/*", only_the_file)
    page = context.new_page()
    watch = Watch(page)
    page.goto(out.as_uri())
    page.wait_for_selector("#page[data-ready=true]")
    assert asked == [out.as_uri()] and watch.problems == []
    charts = page.locator(".result-chart")
    assert charts.count() == 12
    assert {charts.nth(i).get_attribute("data-points") for i in range(12)} == {windows}
    assert page.locator("#heatmap").get_attribute("data-windows") == windows
    shown = page.locator("#histogram")  # the latest window's most drifted feature, embedded
    assert shown.locator("rect.bar.window").count() > 2
    page.screenshot(path=shots / "report.png", full_page=True)
    page.click('#heatmap rect.cell[data-window="0"] >> nth=0')  # not embedded: the report says where to look
    page.wait_for_selector("#histogram-panel .empty")
    assert "modelmon ui" in page.inner_text("#histogram-panel")
    assert asked == [out.as_uri()] and watch.problems == []
    context.close()


def test_the_alerts_page_shows_active_alerts_and_their_history(demo, browser, shots):
    _, url = demo
    body = api(url, "/api/alerts")
    active = [a for a in body["alerts"] if a["state"] == "active"]
    assert "cancer-shift" in {a["endpoint_name"] for a in active}  # its sudden shift from the fifth window on
    assert "cancer-stable" not in {a["endpoint_name"] for a in body["alerts"]}
    page, watch = open_page(browser, url + "/alerts")
    page.screenshot(path=shots / "demo_alerts_activations.png", full_page=True)
    assert page.inner_text("#nav-alerts .count") == str(len(active)) == str(body["active"])
    rows = page.locator("#active tbody tr")
    assert rows.count() == len(active)
    shift = next(a for a in active if a["endpoint_name"] == "cancer-shift" and a["config"] == "drift")
    row = page.locator(f'#active tbody tr[data-key="{shift["key"]}"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[:4] == ["high", "drift", "cancer-shift", f"{shift['result']}\nhistogram-data-drift"]
    assert cells[4] == shift["summary"]
    assert cells[5].startswith(utc_time(shift["changed_ms"]))  # since when, in UTC
    history = page.locator("#history tbody tr")
    assert history.count() == len(body["history"]) > 0
    fired = page.locator("#history tbody tr[data-transition=fired]")
    assert fired.count() == sum(h["transition"] == "fired" for h in body["history"]) >= len(active)
    first = body["history"][0]
    texts = history.first.locator("td").all_inner_texts()
    assert texts[:5] == [utc_time(first["time_ms"]), first["transition"], first["severity"], first["config"],
                         first["endpoint_name"]]
    assert texts[-1] == "log delivered"  # the log channel took the notification
    assert page.locator("#setup").count() == 0
    assert page.locator("#configs tbody tr").count() == len(body["configs"]) == len(ALERTS) + 1  # + the demo's
    detections = body["detections"]  # folded under the alerts when configs exist
    assert page.inner_text("#detections summary").startswith(f"{detections['total']} detected result")
    assert page.locator("#detections tbody tr").count() == detections["total"]
    row.locator("a").click()  # to the endpoint, whose alerts table has the same activation
    page.wait_for_selector("#page[data-ready=true]")
    assert page.url.endswith(f"/endpoints/{shift['endpoint_id']}")
    state = page.locator(f'#alerts tbody tr[data-key="{shift["key"]}"] td').first
    assert state.inner_text() == "active"
    page.locator("#alerts").screenshot(path=shots / "demo_endpoint_alerts.png")
    assert watch.problems == []
    page.close()


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """A home without alert configs: one endpoint whose drift result was detected in its latest window."""
    home = tmp_path_factory.mktemp("bare") / "home"
    backend = make_backend(Settings(home=str(home), project="bare"))
    try:
        endpoint = register_model_endpoint(backend, "bare", "churn", reference_data=pd.DataFrame(
            {"age": np.random.default_rng(2).normal(40, 10, 200)}))
        result = ModelMonitoringApplicationResult("general_drift", 0.9, ResultKindApp.data_drift,
                                                  ResultStatusApp.detected)
        now = int(time.time() * 1000) // 60_000 * 60_000
        ResultWriter(backend, ProjectPaths("bare")).write(WriterEvent(
            "bare", endpoint.endpoint_id, "histogram-data-drift", now - 600_000, now, (result,), endpoint_name="churn"))
    finally:
        backend.close()
    with served(home, "bare") as url:
        yield url


def test_without_alert_configs_the_alerts_page_says_how_to_add_one(bare, browser, shots):
    page, watch = open_page(browser, bare + "/alerts")
    page.screenshot(path=shots / "bare_alerts.png", full_page=True)
    setup = page.inner_text("#setup")
    assert "Project bare has no alert config yet." in setup
    assert "modelmon alerts add --file drift.yaml --project bare" in setup and "store_alert_config" in setup
    assert page.locator("#active").count() == 0 and page.inner_text("#alert-counts").endswith("no alert config")
    assert page.locator("#detections details").count() == 0  # the detected results are all there is: shown
    assert page.locator("#detections tbody tr td").nth(2).inner_text() == "histogram-data-drift"
    assert page.locator("#detections tbody tr td").last.inner_text() == "current"
    assert page.locator("#nav-alerts").is_visible() and page.locator("#nav-alerts .count").count() == 0
    assert watch.problems == []
    page.close()


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """``test_api_alerts``' home: alerts fired, resolved by a later window and reset by hand, one failed webhook."""
    home = tmp_path_factory.mktemp("watched") / "home"
    test_api_alerts.build_home(home)
    with served(home, test_api_alerts.PROJECT) as url:
        yield url


def test_resolved_and_reset_alerts_and_a_failed_notification(watched, browser, shots):
    body = api(watched, "/api/alerts")
    page, watch = open_page(browser, watched + "/alerts")
    page.screenshot(path=shots / "watched_alerts.png", full_page=True)
    assert page.locator("#active tbody tr").count() == 1
    transitions = page.locator("#history tbody tr").evaluate_all("rows => rows.map(r => r.dataset.transition)")
    assert transitions == [h["transition"] for h in body["history"]] == [
        "reset", "fired", "resolved", "resolved", "fired", "fired", "fired"]
    reset = page.locator("#history tbody tr[data-transition=reset] td").all_inner_texts()
    assert reset[-3] == "—" and reset[-1] == "—"  # no window, nobody notified
    failed = page.locator("#history tbody tr .delivery.failed")
    assert failed.count() == 1 and failed.inner_text() == "webhook failed"
    assert test_api_alerts.HOOK_ENV in failed.get_attribute("title")
    assert page.inner_text("#page .warning").startswith("1 notification could not be sent")
    assert page.locator("#deliveries tbody tr").count() == 1
    row = page.locator("#deliveries tbody tr td").all_inner_texts()
    assert row[1].startswith("latency: churn latency_p99_us\nfired, window ending 2025-11-30 15:50")
    assert test_api_alerts.HOOK_ENV in row[-1]
    assert watch.problems == []
    page.close()
