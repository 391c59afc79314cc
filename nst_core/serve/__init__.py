"""Serving runs to many visitors: background jobs behind one ``Executor`` interface (``ThreadExecutor``,
``RayExecutor``, chosen by ``executor_from_env``), the fair queue and its rules, the run store, and the
files a stored or downloaded run is made of (validated when read back)."""

from .admission import AdmissionPolicy, HostedLimits, hosted_limits
from .executor import Executor
from .extractor_cache import ExtractorCache
from .from_env import executor_from_env
from .jobs import Job, JobState, JobStatus
from .progress import ProgressRecorder
from .ray_executor import RayExecutor
from .store import InterruptedRun, RunEntry, RunStore, StoredRun, default_root
from .thread_executor import ThreadExecutor
