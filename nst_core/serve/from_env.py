"""``executor_from_env()``: the executor a deployment asks for through environment variables
(``STYLE_LENS_EXECUTOR``: ``thread``, the default, or ``ray``; ``RAY_ADDRESS``, ``STYLE_LENS_GPUS_PER_RUN``:
README, "Scale out with Ray")."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..errors import ConfigError
from .executor import Executor
from .thread_executor import ThreadExecutor

EXECUTOR_ENV = "STYLE_LENS_EXECUTOR"
GPUS_PER_RUN_ENV = "STYLE_LENS_GPUS_PER_RUN"
EXECUTORS = ("thread", "ray")


def executor_from_env(environ: Mapping[str, str] | None = None) -> Executor:
    """A new executor as the environment (``os.environ`` by default) says. ``ConfigError`` names a
    variable with an unknown value; ``ExecutorUnavailableError`` when Ray is asked for but missing."""
    environ = os.environ if environ is None else environ
    kind = environ.get(EXECUTOR_ENV, "thread").strip().lower() or "thread"
    if kind not in EXECUTORS:
        raise ConfigError(EXECUTOR_ENV, f"{kind!r} is not an executor; use one of {', '.join(EXECUTORS)}")
    if kind == "thread":
        return ThreadExecutor.from_env()
    from .ray_executor import RayExecutor

    share = environ.get(GPUS_PER_RUN_ENV, "1")
    try:
        gpus_per_run = float(share)
    except ValueError:
        gpus_per_run = 0.0
    if not 0 < gpus_per_run:
        raise ConfigError(GPUS_PER_RUN_ENV, f"{share!r} is not a positive number (0.5 packs two runs on a GPU)")
    return RayExecutor(environ.get("RAY_ADDRESS") or None, gpus_per_run=gpus_per_run)
