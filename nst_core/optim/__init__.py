"""The optimisation: a run's settings (``RunConfig``), the image being optimised (``Canvas``), the cost it
lowers (``Objective``), the loop (``run``), its precision and its time/memory estimate. It never imports
the serving side (``nst_core.serve``). ``run_batch`` (``batched``) runs several configurations with their
evaluations of J stacked into one network pass."""

from .batched import BatchedEvaluator, BatchKey, BatchSeat, batch_key, run_batch
from .config import DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_LR, MAX_SIZE, MIN_SIZE, RunConfig
from .engine import run
from .estimate import RunEstimate, estimate_run, suggest_size
from .precision import Precision, choose_precision
from .result import LossScaling, RunProgress, RunResult, Snapshot, StepRecord
from .sources import ImageInputError
