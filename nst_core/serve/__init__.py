"""Serving runs to many visitors: background jobs (``ThreadExecutor``, ``RayExecutor``, chosen by
``executor_from_env``), the fair queue's rules, the run store, and the files a stored or downloaded run is
made of (validated when read back)."""

from .admission import AdmissionPolicy, HostedLimits, hosted_limits
from .from_env import executor_from_env
from .jobs import Executor, ExtractorCache, Job, JobSnapshot, JobStatus, ThreadExecutor
from .ray_executor import RayExecutor
from .store import InterruptedRun, RunEntry, RunStore, StoredRun, default_root

__all__ = [
    "AdmissionPolicy",
    "Executor",
    "ExtractorCache",
    "HostedLimits",
    "InterruptedRun",
    "Job",
    "JobSnapshot",
    "JobStatus",
    "RayExecutor",
    "RunEntry",
    "RunStore",
    "StoredRun",
    "ThreadExecutor",
    "default_root",
    "executor_from_env",
    "hosted_limits",
]
