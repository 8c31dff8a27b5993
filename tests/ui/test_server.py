"""``modelmon ui`` as a user runs it (a real process, uvicorn on a real socket), and its access token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import warnings

import httpx
import pytest

from modelmon.backends import make_backend
from modelmon.testing.synthetic import synthetic_home
from modelmon.ui.app import create_app
from modelmon.ui.auth import COOKIE
from modelmon.ui.context import UIContext

TOKEN = "t0ken-for-tests"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return synthetic_home(tmp_path_factory.mktemp("server") / "home", endpoints=3, days=0.2, features=3, seed=2)


def start(small, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """``modelmon ui`` on a free port; the URL it prints."""
    process = subprocess.Popen([sys.executable, "-m", "modelmon", "ui", "--home", small.home, "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(f"modelmon ui: project 'synthetic' of {small.home} at http://"), \
        line + process.stderr.read() if process.stderr else ""
    return process, line.split(" at ", 1)[1].split()[0]


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    return process.wait(timeout=30)


def test_serves_the_api_on_localhost_and_stops_on_ctrl_c(small):
    process, url = start(small)
    try:
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        overview = httpx.get(url + "api/overview", timeout=30).json()
        assert overview["total"] == 3 and overview["project"] == "synthetic"
    finally:
        code = stop(process)
    assert code == 130  # the console's code for an interrupted command


def test_a_public_address_without_a_token_is_refused(small):
    env = {k: v for k, v in os.environ.items() if k != "MODELMON_UI_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "modelmon", "ui", "--home", small.home, "--host", "0.0.0.0"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("modelmon: error: --host 0.0.0.0 is reachable from other machines: set an access token "
                           "with --token or $MODELMON_UI_TOKEN (or bind 127.0.0.1)\n")


def test_a_public_address_with_the_environments_token_requires_it(small):
    process, url = start(small, "--host", "0.0.0.0", env={"MODELMON_UI_TOKEN": TOKEN})
    try:
        assert url.endswith(f"/?token={TOKEN}")
        port = url.split(":")[2].split("/")[0]
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/overview", timeout=30).status_code == 401
        assert httpx.get(f"{base}/api/overview", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=30).json()["total"] == 3
    finally:
        stop(process)


def test_a_taken_port_is_a_clear_error(small):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "modelmon", "ui", "--home", small.home, "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(f"modelmon: error: cannot listen on 127.0.0.1:{port}: ")


def test_a_missing_home_is_a_clear_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "modelmon", "ui", "--home", str(tmp_path / "nothing")],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, f"modelmon: error: no modelmon home at {tmp_path / 'nothing'} "
                                                 "(use --home or MODELMON_HOME)\n")


# ------------------------------------------------------------------------------------------ the token
@pytest.fixture
def guarded(small):
    backend = make_backend(small.settings())
    with warnings.catch_warnings():  # starlette's test client asks for httpx2 (unreleased) on import
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        client = TestClient(create_app(UIContext(small.settings(), backend, small.project, TOKEN)))
    yield client
    client.close()
    backend.close()


@pytest.mark.parametrize("path", ["/api/overview", "/api/apps", "/metrics", "/", "/static/nothing.js"])
def test_every_route_needs_the_token(guarded, path):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = guarded.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer" and "token" in response.json()["error"]
    assert guarded.get(f"{path}?token=wrong").status_code == 401


def test_a_bearer_token_opens_the_api_and_metrics(guarded):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/api/overview", headers=headers).json()["total"] == 3
    metrics = guarded.get("/metrics", headers=headers)
    assert metrics.status_code == 200 and "modelmon_" in metrics.text
    assert COOKIE not in guarded.cookies  # a header sets no cookie


def test_the_token_in_the_url_sets_an_http_only_cookie_for_the_pages_fetches(guarded):
    first = guarded.get(f"/api/overview?token={TOKEN}")
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={TOKEN};") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert guarded.get("/api/overview").json()["total"] == 3  # the cookie alone from now on
    assert "set-cookie" not in guarded.get("/api/overview").headers
    guarded.cookies.clear()
    assert guarded.get("/api/overview").status_code == 401
