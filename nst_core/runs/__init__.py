"""Runs: the optimisation engine (``run``), background jobs (``ThreadExecutor``, ``RayExecutor``, chosen by
``executor_from_env``) and time/memory estimates."""

from .admission import AdmissionPolicy, HostedLimits, hosted_limits
from .config import DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_LR, MAX_SIZE, MIN_SIZE, RunConfig
from .engine import run
from .estimate import RunEstimate, estimate_run, suggest_size
from .from_env import executor_from_env
from .jobs import Executor, ExtractorCache, Job, JobSnapshot, JobStatus, ThreadExecutor
from .precision import Precision, choose_precision
from .ray_executor import RayExecutor
from .result import LossScaling, RunProgress, RunResult, Snapshot, StepRecord
from .sources import ImageInputError

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_LR",
    "MAX_SIZE",
    "MIN_SIZE",
    "AdmissionPolicy",
    "Executor",
    "ExtractorCache",
    "HostedLimits",
    "ImageInputError",
    "Job",
    "JobSnapshot",
    "JobStatus",
    "LossScaling",
    "Precision",
    "RayExecutor",
    "RunConfig",
    "RunEstimate",
    "RunProgress",
    "RunResult",
    "Snapshot",
    "StepRecord",
    "ThreadExecutor",
    "choose_precision",
    "estimate_run",
    "executor_from_env",
    "hosted_limits",
    "run",
    "suggest_size",
]
