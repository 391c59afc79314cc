"""N visitors launch a run at once on one Style Lens server, each in its own headless Chromium context.

Prints, over the visitors whose run was accepted: time from the Launch click to the first progress bar
(p50, p95), to the run's end, runs per minute over the burst, how many were told the queue is full, and the
server's peak memory (resident set of its processes, sampled every 0.2 s; only when this script started the
server, or ``--pid`` names it).

    python bench/load.py                          # starts `bash dev.sh app` on a free port, 5 visitors
    python bench/load.py --visitors 10 --size 96 --steps 30
    python bench/load.py --url http://127.0.0.1:8501 --pid 12345   # a server already running
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the browser tests' server and Chromium set-up

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_app

DEADLINE_MS = 900_000


@dataclass
class Visit:
    clicked: float
    accepted: bool
    first_progress_s: float | None = None
    done_s: float | None = None
    done_at: float | None = None


class MemorySampler(threading.Thread):
    """Peak resident memory of a process and its children, from /proc (Linux)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_bytes, self._halt = pid, 0, threading.Event()

    def _tree_rss(self) -> int:
        page = os.sysconf("SC_PAGE_SIZE")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(entry.name) == self.pid or int(stat[2]) == self.pid or int(stat[3]) == self.pid:
                    total += int((entry / "statm").read_text().split()[1]) * page
            except (OSError, IndexError, ValueError):
                continue  # a process that ended meanwhile
        return total

    def run(self) -> None:
        while not self._halt.wait(0.2):
            self.peak_bytes = max(self.peak_bytes, self._tree_rss())

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak_bytes


async def set_number(page: Page, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    await field.fill(str(value))
    await field.press("Enter")
    await expect(field).to_have_value(str(value))


async def visit(browser: Browser, url: str, size: int, steps: int, start: asyncio.Barrier) -> Visit:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        await page.goto(f"{url}/stylize")
        await expect(page.get_by_role("button", name="Launch")).to_be_enabled(timeout=DEADLINE_MS)
        await set_number(page, "Size (px, longest side)", size)
        await set_number(page, "Steps", steps)
        await start.wait()
        clicked = time.monotonic()
        await page.get_by_role("button", name="Launch").click()
        progress = page.get_by_test_id("stProgress")
        done = page.get_by_test_id("stAlertContentSuccess")
        full = page.get_by_text("The queue is full")
        refused = page.get_by_text("You already have")
        await expect(progress.or_(done).or_(full).or_(refused)).to_be_visible(timeout=DEADLINE_MS)
        if await full.count() or await refused.count():
            return Visit(clicked, accepted=False)
        await expect(progress.or_(done)).to_be_visible(timeout=DEADLINE_MS)
        first = time.monotonic() - clicked
        await expect(done).to_contain_text(f"{steps} steps", timeout=DEADLINE_MS)
        finished = time.monotonic()
        return Visit(clicked, True, first, finished - clicked, finished)
    finally:
        await context.close()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def burst(url: str, visitors: int, size: int, steps: int) -> list[Visit]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        start = asyncio.Barrier(visitors)  # every page opened and its form set, then all click at once
        visits = await asyncio.gather(*(visit(browser, url, size, steps, start) for _ in range(visitors)))
        await browser.close()
    return list(visits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=5)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--url", help="a running server (default: start one on a free port)")
    parser.add_argument("--pid", type=int, help="the running server's process id, for its peak memory")
    args = parser.parse_args()
    with ExitStack() as stack:
        url, pid = args.url, args.pid
        if url is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="style-lens-load-")))
            url = stack.enter_context(serve_app(folder, STYLE_LENS_TEST_STEP_DELAY_S="0"))
            pid = _server_pid(folder)
        sampler = MemorySampler(pid) if pid else None
        if sampler:
            sampler.start()
        load_before = os.getloadavg()[0]
        visits = asyncio.run(burst(url, args.visitors, args.size, args.steps))
        peak = sampler.stop() if sampler else None
    served = [v for v in visits if v.accepted]
    print(
        f"{args.visitors} visitors, {args.size} px / {args.steps} steps, {os.cpu_count()} CPUs, "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(f"served {len(served)}, told the queue is full or to wait: {len(visits) - len(served)}")
    if served:
        firsts = [v.first_progress_s for v in served if v.first_progress_s is not None]
        dones = [v.done_s for v in served if v.done_s is not None]
        span = max(v.done_at for v in served if v.done_at is not None) - min(v.clicked for v in visits)
        print(f"time to first progress: p50 {percentile(firsts, 50):.1f} s, p95 {percentile(firsts, 95):.1f} s")
        print(f"time to done: p50 {percentile(dones, 50):.1f} s, p95 {percentile(dones, 95):.1f} s")
        print(f"runs per minute: {len(served) / span * 60:.2f} ({len(served)} runs in {span:.1f} s)")
    print(f"server peak memory: {peak / 2**20:.0f} MB" if peak else "server peak memory: unknown (no --pid)")


def _server_pid(folder: Path) -> int | None:
    """The process id of the server ``serve_app`` started (the process group leader writing its log)."""
    log = str(folder / "streamlit.log")
    writers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "fd" / "1") == log:
                    writers.append(int(entry.name))
            except OSError:
                continue
    return min(writers, default=None)


if __name__ == "__main__":
    main()
