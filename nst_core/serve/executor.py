"""The ``Executor`` interface: what callers (the app, a notebook, the lesson's ladder) use to run configs in
the background; another engine implements its three methods and hands out ``Job``s. ``QueueExecutor``:
an executor made of a ``FairQueue`` and its ``Workers``, which ``ThreadExecutor`` (runs in this process)
and ``RayExecutor`` (on Ray workers) are, each saying what a worker does with the job it took."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Generic

from ..optim.config import RunConfig
from .admission import AdmissionPolicy
from .fair_queue import BatchRoom, FairQueue, Slot, Workers
from .jobs import Job, QueuedJob

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11


class Executor(ABC):
    """Runs submitted configurations in the background."""

    @abstractmethod
    def submit(self, config: RunConfig, *, owner: str | None = None) -> Job:
        """Validate ``config`` (``ConfigError`` at once if invalid) and queue it for ``owner`` (a visitor's
        id; None: no per-owner limit). Raises ``TooManyRunsError`` when ``owner`` already has the
        policy's ``max_active`` runs queued or running, ``QueueFullError`` when ``max_queue`` runs wait."""

    @abstractmethod
    def cancel_owner(self, owner: str, queued_only: bool = True) -> int:
        """Cancel ``owner``'s queued jobs (and running ones unless ``queued_only``), for a visitor who left;
        return how many were cancelled."""

    @abstractmethod
    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        """Accept no more jobs; queued jobs still run unless ``cancel``, which also stops running ones."""

    def describe(self) -> str:
        """One line for a status display: where the runs execute and how many run at once."""
        return type(self).__name__

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown(wait=True, cancel=exc is not None)


class QueueExecutor(Executor, Generic[Slot]):
    """A ``FairQueue`` with ``policy``, served by one worker thread per slot of ``slots``: each takes the
    next job (or a batch of them: ``batch_room``) and hands it to ``serve_batch(jobs, slot)``.
    ``batch_key``: the queue's (None: jobs are taken one at a time)."""

    def __init__(
        self,
        policy: AdmissionPolicy,
        slots: Sequence[Slot],
        name: str,
        batch_key: Callable[[RunConfig], Hashable] | None = None,
    ) -> None:
        self._queue = FairQueue(policy, len(slots), batch_key)
        self._workers = Workers(self._queue, slots, self.serve_batch, name, self.batch_room)

    @abstractmethod
    def serve_job(self, job: QueuedJob, slot: Slot) -> None:
        """Run ``job`` (already started) on ``slot`` and end it with ``job.finish`` or ``job.fail``."""

    def batch_room(self, head: QueuedJob, slot: Slot) -> BatchRoom:
        """How many queued jobs a worker on ``slot`` takes as one batch led by ``head`` (``FairQueue.take``):
        one here; an executor that evaluates batches says more."""
        return BatchRoom(1)

    def serve_batch(self, jobs: list[QueuedJob], slot: Slot) -> None:
        """Run ``jobs`` (started; more than one only where ``batch_room`` allows it) on ``slot`` and end each:
        here one after the other, each with ``serve_job``."""
        for job in jobs:
            self.serve_job(job, slot)

    @property
    def policy(self) -> AdmissionPolicy:
        return self._queue.policy

    @property
    def slots(self) -> int:
        """How many jobs run at once."""
        return self._queue.slots

    def submit(self, config: RunConfig, *, owner: str | None = None) -> QueuedJob:
        return self._queue.submit(config, owner)

    def cancel_owner(self, owner: str, queued_only: bool = True) -> int:
        return self._queue.cancel_owner(owner, queued_only)

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        self._queue.close(cancel)
        if wait:
            self._workers.join()
