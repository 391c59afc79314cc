"""Joining Ray from the app's process: importing it (an optional extra), starting a local instance or
joining a cluster, and what the cluster offers.

Ray is imported when an executor is made, never when ``nst_core`` is imported.
"""

from __future__ import annotations

import os
import queue
import threading
from types import ModuleType

from ..errors import ExecutorUnavailableError

LOCAL_OBJECT_STORE_BYTES = 256 * 2**20
"""Object store of a local Ray started by ``RayExecutor``: results and previews are small, so keep it small."""

INSTALL_HINT = "pip install 'style-lens[ray]'"


def import_ray() -> ModuleType:
    """The ``ray`` module, or ``ExecutorUnavailableError`` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ExecutorUnavailableError(
            f"The Ray executor needs the 'ray' package, which is not installed ({exc}). Install it with "
            f"`{INSTALL_HINT}`, or use the thread executor (STYLE_LENS_EXECUTOR=thread)."
        ) from None
    return ray


def connect(ray: ModuleType, address: str | None) -> None:
    """Join the Ray at ``address`` (None: ``RAY_ADDRESS``, else a new local instance), unless this process
    already joined one (a notebook's, a test's)."""
    if ray.is_initialized():
        return
    try:
        if address is None and not os.environ.get("RAY_ADDRESS"):
            _start_local(ray)
        else:
            ray.init(address=address)  # None: RAY_ADDRESS
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or os.environ.get("RAY_ADDRESS") or "this machine"
        raise ExecutorUnavailableError(f"Cannot start or join Ray at {where}: {exc}") from None


def _start_local(ray: ModuleType) -> None:
    """Start a local Ray instance from a thread that lives as long as this process.

    Ray ties the daemons it starts (GCS, raylet) to the thread that starts them (``PR_SET_PDEATHSIG``):
    started from a short-lived thread, a Streamlit script run for one, they are killed when it ends, and
    a minute later Ray ends this whole process, the web server with it."""
    started: queue.Queue[BaseException | None] = queue.Queue(maxsize=1)

    def host() -> None:
        try:
            ray.init(include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE_BYTES)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            started.put(exc)
            return
        started.put(None)
        threading.Event().wait()  # never set: the daemons' parent thread must not end

    threading.Thread(target=host, name="ray-local-instance", daemon=True).start()
    if (error := started.get()) is not None:
        raise error


def cluster_address(ray: ModuleType, address: str | None) -> str:
    """Where the joined Ray is, for a status line."""
    try:
        return str(ray.get_runtime_context().gcs_address)
    except Exception:  # noqa: BLE001 - Ray Client connections have no GCS address to show
        return address or os.environ.get("RAY_ADDRESS") or "a local instance"


def smallest_node_cpus(ray: ModuleType) -> float:
    """The CPUs of the smallest live node: what one CPU run asks for, so that it fits on any node."""
    cpus = [node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node.get("Alive")]
    return min((c for c in cpus if c > 0), default=1.0)
