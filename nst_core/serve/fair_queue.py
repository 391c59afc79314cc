"""``FairQueue``: the one FIFO queue of an executor, with its ``AdmissionPolicy``, its queue positions and
waits; ``Workers``: the threads that take its jobs, one per slot.

Both executors are made of these two: what differs is what a worker does with a job it took (run it in
this process, or follow it on a Ray worker).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from ..errors import NSTError
from ..optim.config import RunConfig
from ..optim.estimate import estimate_run
from .admission import AdmissionPolicy
from .jobs import QueuedJob

Slot = TypeVar("Slot")


class FairQueue:
    """Jobs in submission order, served by ``slots`` workers at once; thread-safe."""

    def __init__(self, policy: AdmissionPolicy, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self.policy = policy
        self.slots = slots
        self._cond = threading.Condition()
        self._pending: deque[QueuedJob] = deque()
        self._running: set[QueuedJob] = set()
        self._closed = False

    def submit(self, config: RunConfig, owner: str | None) -> QueuedJob:
        """Validate ``config`` and queue it for ``owner``, as ``Executor.submit`` says."""
        config.validate()
        try:
            estimate = estimate_run(config)
        except NSTError:
            estimate = None
        job = QueuedJob(config, self, estimate, owner)
        with self._cond:
            if self._closed:
                raise RuntimeError("this executor is shut down; it accepts no more jobs")
            owner_active = 0 if owner is None else sum(j.owner == owner for j in (*self._running, *self._pending))
            self.policy.check(owner, owner_active, len(self._pending), lambda: self._backlog_s(len(self._pending)))
            self._pending.append(job)
            self._cond.notify()
        return job

    def take(self) -> QueuedJob | None:
        """The next job, now running, for a worker; waits for one; None once the queue is closed and empty.

        The one place a worker gets work: a worker that evaluates several compatible runs at once would
        take them here."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if not self._pending:
                return None
            job = self._pending.popleft()
            self._running.add(job)
            return job

    def release(self, job: QueuedJob) -> None:
        """``job``, taken by a worker, has ended: it no longer counts as running."""
        with self._cond:
            self._running.discard(job)

    def remove(self, job: QueuedJob) -> bool:
        """Take a queued ``job`` out; False when a worker had already taken it."""
        with self._cond:
            if job in self._pending:
                self._pending.remove(job)
                return True
            return False

    def place(self, job: QueuedJob) -> tuple[int | None, float | None]:
        """(position, estimated seconds until it starts) of a queued job; (None, None) otherwise."""
        with self._cond:
            try:
                index = self._pending.index(job)
            except ValueError:
                return None, None
            return index + 1, self._backlog_s(index)

    def cancel_owner(self, owner: str, queued_only: bool = True) -> int:
        """Cancel ``owner``'s queued jobs (and running ones unless ``queued_only``); how many were cancelled."""
        with self._cond:
            jobs = [job for job in self._pending if job.owner == owner]
            if not queued_only:
                jobs += [job for job in self._running if job.owner == owner]
        return sum(job.cancel() for job in jobs)

    def close(self, cancel: bool = False) -> None:
        """Accept no more jobs; idle workers end once the queue is empty. ``cancel``: cancel every job
        queued or running as well."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            jobs = [*self._pending, *self._running] if cancel else []
        for job in jobs:
            job.cancel()

    def _backlog_s(self, ahead: int) -> float:
        """Seconds of work before the first ``ahead`` queued jobs are all done, shared over the slots
        (under ``_cond``)."""
        work = sum(job.progress.eta_s() or 0.0 for job in self._running)
        work += sum(job.estimate.seconds for job in list(self._pending)[:ahead] if job.estimate is not None)
        return work / self.slots


class Workers(Generic[Slot]):
    """One daemon thread per slot, each taking ``queue``'s jobs in turn and handing each to
    ``serve(job, slot)``, which must end the job (``finish`` or ``fail``)."""

    def __init__(
        self, queue: FairQueue, slots: Sequence[Slot], serve: Callable[[QueuedJob, Slot], None], name: str
    ) -> None:
        self._queue = queue
        self._serve = serve
        self._threads = [
            threading.Thread(target=self._work, args=(slot,), name=f"{name}-{i}", daemon=True)
            for i, slot in enumerate(slots)
        ]
        for thread in self._threads:
            thread.start()

    def __len__(self) -> int:
        return len(self._threads)

    def join(self) -> None:
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()

    def _work(self, slot: Slot) -> None:
        while (job := self._queue.take()) is not None:
            try:
                if job.start():
                    self._serve(job, slot)
            finally:
                self._queue.release(job)
