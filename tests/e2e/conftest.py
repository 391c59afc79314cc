"""Real-browser fixtures: the app started the way README.md says, driven by Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.e2e_helpers import open_page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("STYLE_LENS_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google's hosts on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(item.fspath).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Until the app at ``url`` answers its health check; ``RuntimeError`` with its log if it dies or takes 3 min."""
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start; its log:\n{log.read_text()}")
        time.sleep(0.5)


def app_command(port: int) -> list[str]:
    """`bash dev.sh app` (the README's command) on ``port``, headless, watching no file."""
    return [
        "bash", str(ROOT / "dev.sh"), "app",
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--server.fileWatcherType", "none", "--global.developmentMode", "false",
    ]  # fmt: skip


def app_env(folder: Path, **env: str) -> dict[str, str]:
    """The app's environment for a test server: its data in ``folder``, random weights unless told otherwise."""
    return {
        **os.environ,
        "STYLE_LENS_WEIGHTS": os.environ.get("STYLE_LENS_WEIGHTS", "random"),
        "STYLE_LENS_DATA": str(folder / "data"),
        # Every run step lasts at least this long, so a tiny run is seen in progress on the fastest CPU.
        "STYLE_LENS_TEST_STEP_DELAY_S": "0.5",
        **env,
    }


@contextmanager
def serve_app(folder: Path, **env: str) -> Iterator[str]:
    """`bash dev.sh app` on a free port, with its data folder and log in ``folder``; yields its URL once
    its health check answers (no page has been requested yet: the first visit is the caller's)."""
    port = free_port()
    log = folder / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            app_command(port), cwd=ROOT, env=app_env(folder, **env), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(proc, url, log)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`bash dev.sh app` on a free port; the random weights unless ImageNet weights are cached."""
    with serve_app(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def page_urls(browser: Browser, app_url: str) -> dict[str, str]:
    """{page title: URL} as the sidebar's navigation links them; the first load also warms the model."""
    context = browser.new_context()
    try:
        page = context.new_page()
        open_page(page, app_url)
        links = page.get_by_test_id("stSidebarNavLink")
        # A link's text is its Material icon's name, then its title, on separate lines.
        return {link.inner_text().split("\n")[-1].strip(): link.get_attribute("href") or "" for link in links.all()}
    finally:
        context.close()
