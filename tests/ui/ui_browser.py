"""What the browser tests share: ``modelmon ui`` served for real (uvicorn on 127.0.0.1, a free port, in a
thread), Debian's Chromium driven by Playwright (never a downloaded browser), a watch on every page for
console errors and failed requests, and the homes the pages are looked at over (the real demo's, a
generated one of many endpoints).
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    ViewportSize,
    sync_playwright,
)

from modelmon.backends import make_backend
from modelmon.core.config import Settings
from modelmon.ui.app import create_app
from modelmon.ui.context import UIContext

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Every page a person sees is at least this wide in the screenshots.
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


def api_json(home: str | Path, project: str, path: str, now: int, **params: str) -> Any:
    """``GET path`` of ``create_app`` over ``home``'s ``project`` (in process, the clock at ``now``), as JSON."""
    import warnings

    settings = Settings(home=str(home), project=project)
    backend = make_backend(settings)
    try:
        with warnings.catch_warnings():  # starlette's test client asks for httpx2 (unreleased) on import
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient
        with TestClient(create_app(UIContext(settings, backend, project, clock=lambda: now))) as client:
            response = client.get(path, params=params)
            response.raise_for_status()
            return response.json()
    finally:
        backend.close()


@contextlib.contextmanager
def served(home: str | Path, project: str, token: str | None = None) -> Iterator[str]:
    """``create_app`` over ``home``'s ``project`` under uvicorn on a free port; yields the base URL."""
    settings = Settings(home=str(home), project=project)
    backend = make_backend(settings)
    app = create_app(UIContext(settings, backend, project, token))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the ui server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        backend.close()


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, with nothing of its own going to the network."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def launch(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).is_file():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@dataclasses.dataclass
class Watch:
    """Everything that went wrong on a page: console errors, uncaught exceptions, failed requests, HTTP errors.

    ``expected_statuses`` maps a URL part to an HTTP status the test expects (a deliberate 404 page).
    """

    page: Page
    problems: list[str] = dataclasses.field(default_factory=list)
    requests: list[str] = dataclasses.field(default_factory=list)
    expected_statuses: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"uncaught: {exc}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not self._expected_resource_error(message):
            self.problems.append(f"console error: {message.text} at {message.location}")

    def _expected_resource_error(self, message: ConsoleMessage) -> bool:
        url = str(message.location.get("url", ""))
        return "Failed to load resource" in message.text and any(part in url for part in self.expected_statuses)

    def _failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        expected = next((s for part, s in self.expected_statuses.items() if part in response.url), None)
        if response.status >= 400 and response.status != expected:
            self.problems.append(f"HTTP {response.status}: {response.url}")


def open_page(browser: Browser | BrowserContext, url: str, **watch: Any) -> tuple[Page, Watch]:
    """A new page at ``url`` (1280x800 in a browser; a context's own size), watched, once its script says it
    is drawn (``#page[data-ready]``)."""
    page = browser.new_page(viewport=VIEWPORT) if isinstance(browser, Browser) else browser.new_page()
    w = Watch(page, **watch)
    page.goto(url)
    page.wait_for_selector("#page[data-ready=true], #page .error", timeout=30_000)
    return page, w


def run_demo(home: Path) -> None:
    """The real ``modelmon demo`` (its functions, traffic and apps) into ``home``."""
    proc = subprocess.run([sys.executable, "-m", "modelmon", "demo", "--home", str(home), "--bundle", str(REPO)],
                          capture_output=True, text=True, timeout=300, check=False, cwd=home.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"modelmon demo failed ({proc.returncode}): {proc.stderr[-3000:]}")
