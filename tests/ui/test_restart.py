"""The queue survives the process: a server (the app's ``RunSaver`` and ``ThreadExecutor`` over a data folder)
with one running and two queued runs is killed with SIGKILL; the restarted server offers each run to its
owner as interrupted, exactly once, and the relaunched runs end stored. A live process's queue is never
taken by another process sharing the folder. Then the Run page's notice and its one-click Relaunch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nst_core import JobStatus, RunConfig, RunStore, ThreadExecutor
from tests.helpers import APP, assert_no_exception, wait_until
from ui.pages import RUN
from ui.run_saver import RunSaver

OWNERS = ("ann-token-0000000000000000", "bob-token-0000000000000000", "cyd-token-0000000000000000")

_SERVER = textwrap.dedent(
    """
    import sys, time
    from nst_core import JobStatus, RunConfig, RunStore, ThreadExecutor
    from nst_core.serve.admission import AdmissionPolicy
    from ui.run_saver import RunSaver

    saver = RunSaver(RunStore(sys.argv[1]), 2**30)
    # A pause after every step keeps the first run running, whatever the machine's speed.
    executor = ThreadExecutor(slots=1, policy=AdmissionPolicy(max_active=1, max_queue=20), step_delay_s=5.0)
    config = RunConfig(content="chelsea", style="orange_strokes", weights="random", size=32, steps=6,
                       snapshot_every=3, device="cpu")
    jobs = []
    for owner in sys.argv[2:]:
        job = executor.submit(config, owner=owner)
        saver.track(job, owner=owner, title=f"the run of {owner[:3]}", content="chelsea", style="orange_strokes")
        jobs.append(job)
    while jobs[0].state().step < 1:
        time.sleep(0.05)
    print([str(job.status) for job in jobs], flush=True)
    time.sleep(600)
    """
)


def test_a_killed_server_s_runs_are_each_relaunched_once_and_stored(tmp_path: Path) -> None:
    root = tmp_path / "data"
    RunStore(root)
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(root), *OWNERS],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "['running', 'queued', 'queued']"
        # Another process sharing the folder (a second app process) sees a live queue: nothing to take.
        neighbour = RunStore(root)
        assert neighbour.interrupted() == []
        with neighbour._db() as db:
            job_ids = [job_id for (job_id,) in db.execute("SELECT id FROM pending ORDER BY created")]
        assert len(job_ids) == 3
        assert all(neighbour.claim_interrupted(job_id) is None for job_id in job_ids)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=60)

    restarted = RunStore(root)
    interrupted = restarted.interrupted()
    assert [run.id for run in interrupted] == job_ids
    assert [run.owner for run in interrupted] == list(OWNERS)
    for owner in OWNERS:  # each visitor sees only their own
        assert [run.owner for run in restarted.interrupted(owner=owner)] == [owner]
    assert restarted.claim_interrupted(job_ids[0], owner=OWNERS[1]) is None  # not bob's to take

    # Two processes (two stores) and two tabs race for every run: each is taken exactly once.
    racers = [restarted, RunStore(root), RunStore(root), RunStore(root)]
    taken: dict[str, list[int]] = {job_id: [] for job_id in job_ids}
    lock = threading.Lock()

    def race(number: int, store: RunStore) -> None:
        for job_id in job_ids:
            if store.claim_interrupted(job_id) is not None:
                with lock:
                    taken[job_id].append(number)

    threads = [threading.Thread(target=race, args=(n, store)) for n, store in enumerate(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(len(winners) == 1 for winners in taken.values()), taken
    assert restarted.interrupted() == []

    # The restarted server runs them again (from the recorded settings) and stores them.
    for run in interrupted:
        restarted.release_interrupted(run)
    saver = RunSaver(restarted, 2**30)
    with ThreadExecutor(slots=1) as executor:
        for owner in OWNERS:
            (run,) = restarted.interrupted(owner=owner)
            claimed = restarted.claim_interrupted(run.id, owner=owner)
            assert claimed is not None
            config = restarted.config_of(claimed)
            assert (config.steps, config.size, config.content) == (6, 32, "chelsea")
            job = executor.submit(config, owner=owner)
            saver.track(job, owner=owner, title=claimed.title or "", content=claimed.content, style=claimed.style)
            job.result(timeout=300)
            wait_until(lambda job=job: saver.stored_id(job.id) is not None)
    assert sorted(entry.owner for entry in restarted.list()) == sorted(OWNERS)
    assert restarted.interrupted() == []
    assert RunStore(root).interrupted() == []  # none left for a later restart either


def test_the_run_page_offers_an_interrupted_run_to_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYLE_LENS_DATA", str(tmp_path))
    monkeypatch.setenv("STYLE_LENS_WEIGHTS", "random")
    dead = RunStore(tmp_path)
    config = RunConfig(content="chelsea", style="mosaic", weights="random", size=32, steps=2, device="cpu")
    dead.record_pending(
        "a" * 32, config, owner=OWNERS[0], title="Chelsea as a mosaic", content="chelsea", style="mosaic"
    )
    dead._instance_file.close()  # type: ignore[union-attr]  (its process died: the lock is gone)

    def run_page(owner: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["_owner"] = owner
        at.run()
        at.switch_page(RUN.script)
        at.run()
        assert_no_exception(at)
        return at

    assert not [w for w in run_page(OWNERS[1]).warning if "interrupted" in w.value]  # another visitor
    at = run_page(OWNERS[0])
    (notice,) = [w.value for w in at.warning if "interrupted" in w.value]
    assert notice.startswith("**Chelsea as a mosaic**") and "interrupted by a server restart — relaunch" in notice
    at.button(key=f"relaunch_{'a' * 32}").click().run()
    assert_no_exception(at)
    assert not [w for w in at.warning if "interrupted" in w.value]
    (job,) = at.session_state["runs"].values()
    assert job.owner == OWNERS[0] and job.config.steps == 2
    job.result(timeout=300)
    wait_until(lambda: RunStore(tmp_path).list(owner=OWNERS[0]) != [])
    assert RunStore(tmp_path).interrupted() == []
    assert job.status == JobStatus.DONE
