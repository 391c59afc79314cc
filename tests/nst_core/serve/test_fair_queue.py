"""The fair queue hands a worker a batch: the head of the queue, then the later queued jobs of its batch key, in
queue order, within the room (runs and memory) the worker has. No worker here: the test takes the jobs itself."""

from __future__ import annotations

import pytest
import torch

from nst_core import JobStatus, TooManyRunsError
from nst_core.optim import batch_key
from nst_core.serve import AdmissionPolicy
from nst_core.serve.fair_queue import BatchRoom, FairQueue
from tests.helpers import small_config


def _queue(**policy: int) -> FairQueue:
    return FairQueue(AdmissionPolicy(**policy), slots=1, batch_key=batch_key)


def _compatible(seed: int):
    """A 32 px run with its own images (same shape, same layers): the same batch key as every other seed's."""
    return small_config(steps=seed + 1)


def _incompatible():
    return small_config(size=48, content=torch.rand(1, 3, 48, 48))


def test_the_head_takes_the_queued_jobs_of_its_key_in_queue_order() -> None:
    queue = _queue()
    first = queue.submit(_compatible(1), None)
    other = queue.submit(_incompatible(), None)
    second, third = queue.submit(_compatible(2), None), queue.submit(_compatible(3), None)
    assert first.batch_key == second.batch_key == third.batch_key != other.batch_key is not None
    asked: list[object] = []

    def room(head):
        asked.append(head)
        return BatchRoom(4)

    assert queue.take(room) == [first, second, third]
    assert asked == [first]
    # The job of another key keeps its place: it is next, alone (no queued job shares its key). It waits for
    # the batch, whose jobs run at once: the longest of them, not their sum.
    longest = max(job.progress.eta_s() for job in (first, second, third))
    assert other.queue_position == 1 and queue.place(other)[1] == pytest.approx(longest)
    assert queue.take(room) == [other]
    assert all(job.status is JobStatus.QUEUED for job in (first, second, third, other))  # the worker starts them


def test_an_incompatible_head_goes_first_and_alone() -> None:
    queue = _queue()
    other = queue.submit(_incompatible(), None)
    jobs = [queue.submit(_compatible(seed), None) for seed in range(3)]
    assert queue.take(lambda head: BatchRoom(4)) == [other]
    assert queue.take(lambda head: BatchRoom(4)) == jobs


def test_a_batch_holds_at_most_the_room_s_runs_and_the_rest_wait_in_order() -> None:
    queue = _queue()
    jobs = [queue.submit(_compatible(seed), None) for seed in range(5)]
    assert queue.take(lambda head: BatchRoom(3)) == jobs[:3]
    assert (jobs[3].queue_position, jobs[4].queue_position) == (1, 2)
    assert queue.take(lambda head: BatchRoom(1)) == [jobs[3]]


def test_a_batch_fits_in_the_room_s_memory_by_the_runs_estimated_peaks() -> None:
    queue = _queue()
    jobs = [queue.submit(_compatible(seed), None) for seed in range(4)]
    peak = jobs[0].estimate.peak_bytes
    assert all(job.estimate.peak_bytes == peak for job in jobs)
    assert queue.take(lambda head: BatchRoom(4, memory_bytes=int(2.5 * peak))) == jobs[:2]
    # A head that does not fit alone still runs (it fails with its own OutOfMemoryError if it must).
    assert queue.take(lambda head: BatchRoom(4, memory_bytes=peak // 2)) == [jobs[2]]


def test_without_a_batch_key_or_room_jobs_are_taken_one_at_a_time() -> None:
    plain = FairQueue(AdmissionPolicy(), slots=1)
    jobs = [plain.submit(_compatible(seed), None) for seed in range(2)]
    assert jobs[0].batch_key is None
    assert plain.take(lambda head: BatchRoom(4)) == [jobs[0]]
    keyed = _queue()
    jobs = [keyed.submit(_compatible(seed), None) for seed in range(2)]
    assert keyed.take() == [jobs[0]]  # no room given: a worker that does not batch (RayExecutor)


def test_a_job_whose_key_cannot_be_made_runs_alone() -> None:
    queue = _queue()
    broken = queue.submit(small_config(content=b"not an image"), None)  # fails when its run loads it
    after = queue.submit(_compatible(1), None)
    assert broken.batch_key is None
    assert queue.take(lambda head: BatchRoom(4)) == [broken]
    assert queue.take(lambda head: BatchRoom(4)) == [after]


def test_owner_limits_count_every_job_of_a_batch_until_it_ends() -> None:
    queue = _queue(max_active=2)
    jobs = [queue.submit(_compatible(1), "ann"), queue.submit(_compatible(2), "ann")]
    assert queue.take(lambda head: BatchRoom(4)) == jobs
    with pytest.raises(TooManyRunsError):
        queue.submit(_compatible(3), "ann")
    assert all(job.start() for job in jobs)
    jobs[0].fail(RuntimeError("ended on its own"))  # one job of the batch ends; the other still runs
    assert queue.submit(_compatible(3), "ann").status is JobStatus.QUEUED
    assert queue.cancel_owner("ann", queued_only=False) == 2  # the running one and the queued one
    queue.close()
    assert queue.take() == []


def test_a_closed_queue_still_hands_out_what_was_queued() -> None:
    queue = _queue()
    jobs = [queue.submit(_compatible(seed), None) for seed in range(2)]
    queue.close()
    assert queue.take(lambda head: BatchRoom(4)) == jobs
    assert queue.take(lambda head: BatchRoom(4)) == []
