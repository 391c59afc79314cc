"""Style Lens core: the Gatys style mathematics, VGG19 features, images, runs and jobs. No Streamlit here."""

from .errors import (
    AdmissionError,
    ArchiveError,
    ConfigError,
    ExecutorUnavailableError,
    ImageError,
    NonFiniteLossError,
    NSTError,
    OutOfMemoryError,
    QueueFullError,
    RunCancelled,
    RunError,
    RunNotFoundError,
    StoredRunError,
    StoreFullError,
    StoreUnavailableError,
    TooManyRunsError,
    WeightsError,
    WorkerLostError,
)
from .extractor import VGGExtractor, load_extractor
from .gram import content_cost, gram_matrix, layer_style_cost, style_cost, total_cost
from .layers import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, LAYER_NAMES, RELU_LAYERS

__all__ = [
    "DEFAULT_CONTENT_LAYER",
    "DEFAULT_STYLE_LAYERS",
    "LAYER_NAMES",
    "RELU_LAYERS",
    "AdmissionError",
    "ArchiveError",
    "ConfigError",
    "ExecutorUnavailableError",
    "ImageError",
    "NSTError",
    "NonFiniteLossError",
    "OutOfMemoryError",
    "QueueFullError",
    "RunCancelled",
    "RunError",
    "RunNotFoundError",
    "StoredRunError",
    "StoreFullError",
    "StoreUnavailableError",
    "TooManyRunsError",
    "VGGExtractor",
    "WeightsError",
    "WorkerLostError",
    "content_cost",
    "gram_matrix",
    "layer_style_cost",
    "load_extractor",
    "style_cost",
    "total_cost",
]

from . import examples  # noqa: E402, F401  (nst_core.examples works after a plain `import nst_core`)
from .images import DEFAULT_MAX_PIXELS, content_digest, load_image, to_pil, to_png_bytes  # noqa: E402

__all__ += ["DEFAULT_MAX_PIXELS", "content_digest", "load_image", "to_pil", "to_png_bytes"]

from .optim import RunConfig, RunEstimate, RunResult, estimate_run, run  # noqa: E402
from .serve import Executor, Job, JobState, JobStatus, RayExecutor, ThreadExecutor  # noqa: E402

__all__ += [
    "Executor",
    "Job",
    "JobState",
    "JobStatus",
    "RayExecutor",
    "RunConfig",
    "RunEstimate",
    "RunResult",
    "ThreadExecutor",
    "estimate_run",
    "run",
]

from .gram_views import channel_order, gram_view, top_pairs  # noqa: E402

__all__ += ["channel_order", "gram_view", "top_pairs"]

from .serve.store import InterruptedRun, RunEntry, RunStore, StoredRun, default_root  # noqa: E402

__all__ += ["InterruptedRun", "RunEntry", "RunStore", "StoredRun", "default_root"]
