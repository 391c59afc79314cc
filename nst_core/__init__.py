"""Style Lens core: the Gatys style mathematics, VGG19 features, images, runs and jobs. No Streamlit here."""

from . import examples  # nst_core.examples works after a plain `import nst_core`
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
from .gram_views import channel_order, gram_view, top_pairs
from .images import DEFAULT_MAX_PIXELS, content_digest, load_image, to_pil, to_png_bytes
from .layers import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, LAYER_NAMES, RELU_LAYERS
from .optim import RunConfig, RunEstimate, RunResult, estimate_run, run
from .serve import Executor, Job, JobState, JobStatus, RayExecutor, ThreadExecutor
from .serve.store import InterruptedRun, RunEntry, RunStore, StoredRun, default_root
