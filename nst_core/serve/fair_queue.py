"""``FairQueue``: the one FIFO queue of an executor, with its ``AdmissionPolicy``, its queue positions and
waits; ``Workers``: the threads that take its jobs, one per slot.

Both executors are made of these two: what differs is what a worker does with the jobs it took (run them
in this process, one run or one batch at a time, or follow one on a Ray worker).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, NamedTuple, TypeVar

from ..errors import NSTError
from ..optim.config import RunConfig
from ..optim.estimate import estimate_run
from .admission import AdmissionPolicy
from .jobs import QueuedJob

Slot = TypeVar("Slot")


class BatchRoom(NamedTuple):
    """How many jobs one batch may hold: at most ``runs``, whose estimated peaks (``RunEstimate.peak_bytes``)
    add up to at most ``memory_bytes`` (None: no memory cap)."""

    runs: int
    memory_bytes: int | None = None


class FairQueue:
    """Jobs in submission order, served by ``slots`` workers at once; thread-safe.

    ``batch_key(config)`` (None: every job is taken alone) gives each job the key that a queued job must
    share with the head of the queue to be taken with it as one batch (``optim.batched.batch_key``)."""

    def __init__(
        self, policy: AdmissionPolicy, slots: int, batch_key: Callable[[RunConfig], Hashable] | None = None
    ) -> None:
        if slots < 1:
            raise ValueError(f"slots must be at least 1, got {slots}")
        self.policy = policy
        self.slots = slots
        self._batch_key = batch_key
        self._cond = threading.Condition()
        self._pending: deque[QueuedJob] = deque()
        self._running: dict[QueuedJob, QueuedJob] = {}  # each running job -> the head of its batch
        self._closed = False

    def submit(self, config: RunConfig, owner: str | None) -> QueuedJob:
        """Validate ``config`` and queue it for ``owner``, as ``Executor.submit`` says."""
        config.validate()
        try:
            estimate = estimate_run(config)
        except NSTError:
            estimate = None
        job = QueuedJob(config, self, estimate, owner, self._key(config))
        with self._cond:
            if self._closed:
                raise RuntimeError("this executor is shut down; it accepts no more jobs")
            owner_active = 0 if owner is None else sum(j.owner == owner for j in (*self._running, *self._pending))
            self.policy.check(owner, owner_active, len(self._pending), lambda: self._backlog_s(len(self._pending)))
            self._pending.append(job)
            self._cond.notify()
        return job

    def take(self, room: Callable[[QueuedJob], BatchRoom] | None = None) -> list[QueuedJob]:
        """The next jobs for a worker, now counted as running; waits for one; [] once the queue is closed and
        empty.

        The head of the queue, as ever; then, when ``room(head)`` holds more than one run, the later queued
        jobs whose ``batch_key`` equals the head's, in queue order, as long as the batch fits in the room:
        the worker evaluates them as one batch. Jobs of another key keep their places. ``room`` is called
        only for a head that has a key, outside the queue's lock (it may ask a GPU for its free memory)."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if not self._pending:
                return []
            head = self._pending.popleft()
            self._running[head] = head
        batch = [head]
        if room is not None and head.batch_key is not None:
            space = room(head)
            with self._cond:
                self._gather(batch, space)
                self._running.update(dict.fromkeys(batch, head))
        return batch

    def _gather(self, batch: list[QueuedJob], room: BatchRoom) -> None:
        """Move the queued companions of ``batch``'s head that ``room`` has space for into ``batch`` (under
        ``_cond``). A job with no estimate joins only a batch with no memory cap."""
        head = batch[0]
        used = 0 if head.estimate is None else head.estimate.peak_bytes
        for job in list(self._pending):
            if len(batch) >= room.runs:
                return
            if job.batch_key != head.batch_key:
                continue
            if room.memory_bytes is not None:
                if head.estimate is None or job.estimate is None or used + job.estimate.peak_bytes > room.memory_bytes:
                    continue
                used += job.estimate.peak_bytes
            self._pending.remove(job)
            batch.append(job)

    def release(self, job: QueuedJob) -> None:
        """``job`` has ended (``QueuedJob`` says so as it ends): it no longer counts as running."""
        with self._cond:
            self._running.pop(job, None)

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

    def _key(self, config: RunConfig) -> Hashable | None:
        if self._batch_key is None:
            return None
        try:
            return self._batch_key(config)
        except NSTError:  # the run fails when it loads its images, alone, with the same typed error
            return None

    def _backlog_s(self, ahead: int) -> float:
        """Seconds of work before the first ``ahead`` queued jobs are all done, shared over the slots
        (under ``_cond``)."""
        # The jobs of a batch run at once: a batch's work left is its longest job's (each one's pace is measured
        # in the batch).
        batches: dict[QueuedJob, float] = {}
        for job, head in self._running.items():
            batches[head] = max(batches.get(head, 0.0), job.progress.eta_s() or 0.0)
        work = sum(batches.values())
        work += sum(job.estimate.seconds for job in list(self._pending)[:ahead] if job.estimate is not None)
        return work / self.slots


class Workers(Generic[Slot]):
    """One daemon thread per slot, each taking ``queue``'s jobs in turn (with ``room(head, slot)``: see
    ``FairQueue.take``), starting them, and handing those it started to ``serve(jobs, slot)``, which must
    end each (``finish`` or ``fail``)."""

    def __init__(
        self,
        queue: FairQueue,
        slots: Sequence[Slot],
        serve: Callable[[list[QueuedJob], Slot], None],
        name: str,
        room: Callable[[QueuedJob, Slot], BatchRoom],
    ) -> None:
        self._queue = queue
        self._serve = serve
        self._room = room
        self._threads = [
            threading.Thread(target=self._work, args=(slot,), name=f"{name}-{i}", daemon=True)
            for i, slot in enumerate(slots)
        ]
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()

    def _work(self, slot: Slot) -> None:
        while jobs := self._queue.take(lambda head: self._room(head, slot)):
            # Every job of a batch is running before the batch starts; one cancelled meanwhile ends here.
            if started := [job for job in jobs if job.start()]:
                self._serve(started, slot)
