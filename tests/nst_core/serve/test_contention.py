"""Waiting visitors must cost the running run nearly nothing.

A visitor's Run page polls its job in two ``st.fragment(run_every=1 s)`` fragments (the live panel and the
runs table). Each fragment run is a Streamlit script run, and Streamlit ends every script run with a full
garbage collection (``gc.collect(2)``) unless ``runner.postScriptGC`` is false. In a server process holding
torch, Plotly and Streamlit (~450k objects tracked) one collection took 0.3-0.4 s with the GIL held: three
tabs made six a second, and the run starved (0.1 steps/s instead of 6.7). This app's
``.streamlit/config.toml`` turns it off; the simulated sessions below do what Streamlit does with that
config, so the test fails if the setting goes, or if polling a job grows costly.
"""

from __future__ import annotations

import gc
import statistics
import threading
import time
import tomllib
from pathlib import Path

from nst_core import Job, RunConfig, ThreadExecutor
from nst_core.serve import ExtractorCache
from tests.helpers import striped_config

ROOT = Path(__file__).resolve().parents[3]
POLL_S = 1.0  # the Run page's POLL_SECONDS
FRAGMENTS = 2  # fragments polling per visitor's page
MAX_POLLING_SHARE = 0.05
"""CPU time the waiting visitors' polling may take, as a share of one core (with collections: over 50 %)."""
SERVER_OBJECTS = 450_000
"""Objects the app's server process keeps tracked by the garbage collector (measured with
``len(gc.get_objects())`` while three visitors used it): what a full collection walks."""


def streamlit_collects_after_each_script_run() -> bool:
    """Streamlit's ``runner.postScriptGC`` as this app's config sets it (Streamlit's default: True)."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    return bool(config.get("runner", {}).get("postScriptGC", True))


class Visitors:
    """Threads standing for visitors' pages: each runs its fragments every ``POLL_S`` while ``active``."""

    def __init__(self, jobs: list[Job], collect: bool) -> None:
        self.active = threading.Event()
        self._stop = threading.Event()
        self._collect = collect
        self._threads = [threading.Thread(target=self._poll, args=(job,), daemon=True) for job in jobs]
        self._lock = threading.Lock()
        self.poll_cpu_s: list[float] = []
        """CPU seconds of each fragment run (the job's state, and the collection Streamlit would run)."""
        for thread in self._threads:
            thread.start()

    def _poll(self, job: Job) -> None:
        while not self._stop.is_set():
            if not self.active.wait(0.05):
                continue
            for _ in range(FRAGMENTS):
                started = time.thread_time()
                job.state()
                if self._collect:
                    gc.collect(2)
                with self._lock:
                    self.poll_cpu_s.append(time.thread_time() - started)
            self._stop.wait(POLL_S)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def steps_per_s(job: Job, steps: int) -> float:
    """The run's pace over its next ``steps`` steps, from its own step times."""
    start = job.state().step
    while job.state().step < start + steps:
        assert not job.done(), job.state().error
        time.sleep(0.02)
    window = job.state().history[start : start + steps + 1]
    return (len(window) - 1) / (window[-1].elapsed_s - window[0].elapsed_s)


def slowdown(
    executor: ThreadExecutor, config: RunConfig, waiting: int, window: int, rounds: int
) -> tuple[float, float]:
    """(steps/s with only the running visitor's page polling, steps/s with ``waiting`` more visitors):
    medians of alternating windows of one run, so a change in the machine's load hits both."""
    collect = streamlit_collects_after_each_script_run()
    running = executor.submit(config)
    queued = [executor.submit(config) for _ in range(waiting)]
    own, others = Visitors([running], collect), Visitors(queued, collect)
    own.active.set()
    try:
        steps_per_s(running, 2)  # warm-up
        alone, loaded = [], []
        for _ in range(rounds):
            others.active.clear()
            alone.append(steps_per_s(running, window))
            others.active.set()
            loaded.append(steps_per_s(running, window))
    finally:
        own.close()
        others.close()
        for job in (running, *queued):
            job.cancel()
    return statistics.median(alone), statistics.median(loaded)


def test_two_waiting_visitors_cost_the_running_run_nearly_nothing(random_extractor) -> None:
    server_heap = [[i] for i in range(max(0, SERVER_OBJECTS - len(gc.get_objects())))]  # a server-sized heap
    config = striped_config(64, 100_000, optimizer="adam")
    executor = ThreadExecutor(model_cache=ExtractorCache(loader=lambda *args, **kwargs: random_extractor))
    running = executor.submit(config)
    waiting = [executor.submit(config) for _ in range(2)]
    visitors = Visitors(waiting, streamlit_collects_after_each_script_run())
    try:
        steps_per_s(running, 2)  # running, with a history and a preview for the polls to copy
        visitors.active.set()
        while len(visitors.poll_cpu_s) < 2 * FRAGMENTS * 3:  # three polls of each waiting visitor's page
            assert not running.done(), running.state().error
            time.sleep(0.05)
    finally:
        visitors.close()
        executor.shutdown(wait=True, cancel=True)
    del server_heap
    share = 2 * FRAGMENTS * statistics.median(visitors.poll_cpu_s) / POLL_S
    assert share < MAX_POLLING_SHARE, f"two waiting visitors' polling takes {share:.0%} of a core"
