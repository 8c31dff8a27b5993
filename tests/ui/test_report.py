"""``modelmon report``: one HTML file that holds its styles, scripts and the endpoint API's object (what the
browser draws from it offline: test_browser.py)."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import re

import pytest

from modelmon.backends import make_backend
from modelmon.cli.console import main
from modelmon.testing.synthetic import synthetic_home
from modelmon.ui.context import UIContext
from modelmon.ui.endpoint import endpoint_detail, find_endpoint
from modelmon.ui.report import MAX_HISTOGRAMS, build_report


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """Two endpoints; the first has a day of 10-minute windows with 12 results, per-feature drift and samples."""
    return synthetic_home(tmp_path_factory.mktemp("report") / "home", endpoints=2, days=1, features=5, seed=3)


@pytest.fixture
def context(home):
    backend = make_backend(home.settings())
    yield UIContext(home.settings(), backend, home.project, clock=lambda: home.end_ms + 120_000)
    backend.close()


def embedded(html: str) -> dict:
    """The report's data: base64 of gzip of JSON in ``<script id="mm-data">``."""
    match = re.search(r'<script type="application/octet-stream" id="mm-data" data-encoding="gzip\+base64">'
                      r"([A-Za-z0-9+/=]+)</script>", html)
    assert match, "no embedded data"
    return json.loads(gzip.decompress(base64.b64decode(match[1])))


def test_the_report_embeds_the_endpoint_object_of_its_range(context, home):
    endpoint_id = home.detailed_ids[0]
    report = build_report(context, home.names[endpoint_id])
    assert (report.endpoint.endpoint_id, report.windows, report.results) == (endpoint_id, home.windows, 12)
    assert report.until_ms == home.end_ms + 1  # the endpoint's latest window ends the default range
    data = embedded(report.html)
    expected = endpoint_detail(context, find_endpoint(context, endpoint_id), report.since_ms, report.until_ms)
    assert data["endpoint"] == json.loads(json.dumps(expected))
    assert len(data["endpoint"]["windows"]) == home.windows == 144
    assert {len(r["points"]) for r in data["endpoint"]["results"]} == {144}
    assert data["endpoint"]["windows"][-1]["end_ms"] == home.end_ms
    assert data["generated_ms"] == home.end_ms + 120_000


def test_the_report_holds_the_histograms_of_the_latest_windows_most_drifted_features(context, home):
    data = embedded(build_report(context, home.detailed_ids[0]).html)
    drift = data["endpoint"]["feature_drift"]
    last = drift["windows"][-1]
    scored = {f: (row[-1], flags[-1]) for f, row, flags in zip(drift["features"], drift["values"], drift["drifted"],
                                                                strict=True)}
    keys = list(data["histograms"])
    assert keys and len(keys) <= MAX_HISTOGRAMS
    assert {k.split("|")[0] for k in keys} == {str(last["start_ms"])}
    features = [k.split("|")[1] for k in keys]
    drifted = [f for f in features if scored[f][1]]
    assert features[: len(drifted)] == drifted  # drifted first, then by score
    assert drifted and all(scored[a][0] >= scored[b][0] for a, b in itertools.pairwise(drifted))
    for key, histograms in data["histograms"].items():
        assert histograms["feature"] == key.split("|")[1]
        assert histograms["window"]["start_ms"] == last["start_ms"] and histograms["window"]["end_ms"] == last["end_ms"]
        assert histograms["window_total"] > 0 and sum(histograms["window_counts"]) == pytest.approx(1)


def test_the_report_is_one_file_that_names_nothing_outside_it(context, home):
    html = build_report(context, home.detailed_ids[0]).html
    assert re.findall(r'\b(?:src|href)="([^"]*)"', html) == ["data:,"]  # the empty favicon
    assert "<link rel=\"stylesheet\"" not in html and "/static/" not in html
    assert len(re.findall(r"<script>", html)) == 1 and "MM.renderEndpoint" in html and "DecompressionStream" in html
    assert '<nav aria-label="pages">' not in html  # no links to pages a file cannot reach


def test_a_range_narrows_the_report(context, home):
    end = home.end_ms
    report = build_report(context, home.detailed_ids[0], since_ms=end - 6 * 3_600_000 + 1, until_ms=end + 1)
    assert report.windows == 36 and {len(r["points"]) for r in embedded(report.html)["endpoint"]["results"]} == {36}
    with pytest.raises(ValueError, match="is not before"):
        build_report(context, home.detailed_ids[0], since_ms=end, until_ms=end)


def test_modelmon_report_writes_the_file_and_says_what_is_in_it(home, tmp_path, capsys):
    out = tmp_path / "r.html"
    name = home.names[home.detailed_ids[0]]
    assert main(["report", "--home", home.home, "--endpoint", name, "--since", "1d", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert re.fullmatch(rf"wrote {re.escape(str(out))} \(\d\.\d\d MB in \d+\.\ds\): endpoint {name}, \d+ windows, "
                        r"12 results, \d window histograms; open it in a browser \(it needs no network\)\n", said)
    assert embedded(out.read_text())["endpoint"]["endpoint"]["name"] == name


def test_modelmon_report_names_what_is_wrong(home, tmp_path, capsys):
    assert main(["report", "--home", home.home, "--endpoint", "nope", "-o", str(tmp_path / "x.html")]) == 1
    assert "has no endpoint with id or name 'nope'" in capsys.readouterr().err
    assert main(["report", "--home", home.home, "--endpoint", home.detailed_ids[0], "--since", "1h", "--until", "2h",
                 "-o", str(tmp_path / "x.html")]) == 1
    assert "is not before" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
