"""A real browser across two server restarts on one data folder.

1. The visitor types Steps 40 (the preset says 60); the server restarts, so the open page talks to a new
   session: Launch must run the 40 steps the field shows, not the preset's 60.
2. The server is killed with SIGKILL while that run is running; after the restart the same browser (its
   owner cookie) sees "interrupted by a server restart — relaunch", and one click runs it again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import app_command, app_env, free_port, wait_until_healthy
from tests.e2e.e2e_helpers import FIRST_LOAD_MS, no_error_shown, open_run_settings, screenshot, wait_for_app

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """``streamlit run app.py`` on a fixed port, which can be killed and started again over the same folder."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # Random weights, and 40 steps last 20 s at least: the run is seen running.
        env = app_env(self.folder, STYLE_LENS_WEIGHTS="random")
        with (self.folder / "streamlit.log").open("a") as log:
            self.process = subprocess.Popen(
                app_command(self.port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_until_healthy(self.process, self.url, self.folder / "streamlit.log")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=60)


@contextmanager
def server(folder: Path) -> Iterator[Server]:
    running = Server(folder)
    running.start()
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.kill(signal.SIGTERM)


def test_a_launch_after_a_restart_uses_the_form_and_a_killed_run_is_relaunched(
    browser: Browser, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    with server(tmp_path) as app:
        page.goto(f"{app.url}/stylize")
        wait_for_app(page)
        open_run_settings(page)
        steps = page.get_by_role("spinbutton", name="Steps", exact=True)
        expect(steps).to_have_value("60", timeout=FIRST_LOAD_MS)  # the class-demo preset
        steps.fill("40")
        steps.press("Tab")
        wait_for_app(page)
        assert any(cookie["name"] == "style_lens_owner" for cookie in context.cookies())

        state = page.get_by_test_id("stApp")
        app.kill(signal.SIGTERM)
        expect(state).not_to_have_attribute("data-test-connection-state", "CONNECTED", timeout=FIRST_LOAD_MS)
        app.start()  # the page reconnects to a new session, the form as the visitor left it
        expect(state).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=FIRST_LOAD_MS)
        expect(steps).to_have_value("40")
        page.get_by_role("button", name="Launch").click()
        progress = page.get_by_text(re.compile(r"Step \d+ of 40"))  # the run has the 40 steps the form showed
        expect(progress).to_be_visible(timeout=FIRST_LOAD_MS)

        app.kill(signal.SIGKILL)  # the run dies mid-way, with its queue
        app.start()
        page.goto(f"{app.url}/stylize")
        wait_for_app(page)
        notice = page.get_by_text("was interrupted by a server restart — relaunch it.")
        expect(notice).to_be_visible(timeout=FIRST_LOAD_MS)
        screenshot(page, "interrupted_run")
        page.get_by_role("button", name="Relaunch").click()
        expect(page.get_by_text(re.compile(r"Step \d+ of 40"))).to_be_visible(timeout=FIRST_LOAD_MS)
        expect(notice).to_have_count(0)
        no_error_shown(page)
    context.close()
