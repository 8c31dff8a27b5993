"""The page shells of ``modelmon ui``: each page is served with its settings and scripts, every script and
style it names is served from ``/static``, nothing points outside the server, and an unknown endpoint
gets a 404 page that says which endpoints exist. (What the scripts draw: test_browser.py.)"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from ui_browser import served

from modelmon.testing.synthetic import synthetic_home
from modelmon.ui.pages import STATIC_DIR


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return synthetic_home(tmp_path_factory.mktemp("pages") / "home", endpoints=3, days=0.1, features=3)


@pytest.fixture(scope="module")
def client(home):
    """An HTTP client of the real server (uvicorn on 127.0.0.1) over the home."""
    with served(home.home, home.project) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield c


def assets(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


def page_config(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="mm-config">(.*?)</script>', html, re.S)[1])


@pytest.mark.parametrize(("path", "page", "script"), [
    ("/", "overview", "overview.js"),
    ("/apps", "apps", "apps.js"),
    ("/alerts", "alerts", "alerts.js"),
])
def test_each_page_is_a_shell_with_its_own_script(client, home, path, page, script):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert page_config(html) == {"page": page, "project": home.project}
    assert f'<body data-page="{page}">' in html
    assert assets(html) == ["data:,", "/static/modelmon.css", "/static/common.js", "/static/chart-core.js",
                            "/static/chart-line.js", "/static/chart-grid.js",
                            *(["/static/alerts-table.js"] if page == "alerts" else []), f"/static/{script}"]


def test_the_endpoint_page_knows_its_endpoint_by_name_or_id(client, home):
    endpoint_id = home.endpoint_ids[1]
    by_name = client.get(f"/endpoints/{home.names[endpoint_id]}")
    by_prefix = client.get(f"/endpoints/{endpoint_id[:10]}")
    for response in (by_name, by_prefix):
        assert response.status_code == 200
        assert page_config(response.text)["endpoint_id"] == endpoint_id
        assert "/static/endpoint-drift.js" in assets(response.text)
    assert page_config(by_name.text)["ref"] == home.names[endpoint_id]


def test_an_unknown_endpoint_is_a_404_page_naming_the_known_ones(client, home):
    response = client.get("/endpoints/<script>alert(1)</script>")
    assert response.status_code == 404
    config = page_config(response.text)
    assert config["page"] == "missing"
    assert "has no endpoint with id or name '<script>alert(1)</script>'" in config["error"]
    assert all(name in config["error"] for name in home.names.values())
    assert "<script>alert(1)" not in response.text  # JSON in the page escapes '<'


def test_every_asset_a_page_names_is_served(client):
    html = "".join(client.get(p).text for p in ("/", "/apps", "/alerts"))
    html += client.get(f"/endpoints/{client.get('/api/overview').json()['endpoints'][0]['endpoint_id']}").text
    for url in sorted(set(assets(html)) - {"data:,"}):
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 500, url


def test_the_static_files_fetch_nothing_from_elsewhere():
    """No CDN, font service or absolute URL: the pages (and the offline report) work without a network."""
    for path in sorted(STATIC_DIR.iterdir()):
        text = path.read_text(encoding="utf-8")
        urls = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text)
        assert urls == [] or set(urls) == {"http://www.w3.org"}, (path.name, urls)  # the SVG namespace
        assert "@import" not in text and "url(" not in text, path.name
