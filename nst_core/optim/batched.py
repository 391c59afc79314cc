"""Many runs, one batch: runs of the same image size evaluate J in one network pass, each with its own optimiser.

VGG19 has no batch statistics: stacking images changes no image's activations (beyond the order in which a
convolution sums, the float rounding of any change of algorithm), so the gradient of the sum of the runs'
objectives with respect to one run's image is exactly that run's own ∇J. Each run keeps its own thread, canvas,
optimiser (L-BFGS line searches included), objective (content target, style targets, regions, TV term),
history, snapshots, progress callback and cancel: only the network's forward and backward pass is shared.

How it works. Each run takes a seat at a ``BatchedEvaluator`` (``seat()``) and is started with it
(``run(config, evaluator=seat)``); each evaluation of J becomes a request that waits. When every seated run has
a request waiting, the last one to ask computes them all: the requests of one group (same network and
precision, same image shape) are stacked into one batch, every layer any of them reads is computed once, each
run's terms are computed from its slice by its own ``Objective``, and one backward pass of the sum fills every
run's gradient. A run that ends, fails or is cancelled gives its seat up, so nobody waits for a run that will
not ask again; runs of other sizes (another aspect ratio, another scale of a coarse-to-fine run) are computed
in the same round, one group after the other.

``run_batch(configs)`` runs a list of configurations this way; ``batch_key(config)`` says which queued
configurations gain by it (equal keys: the same network, precision and image shapes at every step).

Measured (``python bench/batching.py``): see the README's Performance section.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import torch
from torch import Tensor

from ..errors import ImageError
from ..extractor import VGGExtractor, load_extractor, resolve_device
from ..layers import LAYER_INDEX
from .config import RunConfig
from .engine import CancelToken, ProgressCallback, run
from .objective import Evaluation, Objective
from .precision import Precision, choose_precision
from .result import RunResult
from .sources import ImageInputError, decode_input


@dataclass
class _Request:
    """One run's evaluation of J at ``image``, waiting for its batch; ``evaluation`` or ``error`` once computed."""

    objective: Objective
    image: Tensor
    gram_layers: Sequence[str]
    evaluation: Evaluation | None = None
    error: BaseException | None = None
    done: bool = False

    @property
    def group(self) -> tuple[object, ...]:
        """Requests of one group are stacked into one batch: same network, precision and image shape."""
        image = self.image
        return (self.objective.network, self.objective.precision, tuple(image.shape), image.dtype, image.device)


class BatchedEvaluator:
    """Evaluates J (and ∇J) for the runs seated at it, the pending evaluations stacked into one network pass.

    ``seat()`` seats one run; pass the seat to ``run(config, evaluator=seat)``, which gives it up when it ends.
    A round is computed once every seated run has an evaluation waiting, so a seat must be taken only for a run
    that will be started at once (or closed: ``seat.close()``), and progress callbacks should return promptly:
    the others wait for them. ``batch_sizes`` counts the network passes by number of images (for tests and
    benchmarks). Thread-safe.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seated = 0
        self._pending: list[_Request] = []
        self._computing = False
        self.batch_sizes: Counter[int] = Counter()

    def seat(self) -> BatchSeat:
        """A place for one more run: from now on, a round waits for this run's next evaluation too."""
        with self._cond:
            self._seated += 1
        return BatchSeat(self)

    def _leave(self) -> None:
        with self._cond:
            self._seated -= 1
            self._cond.notify_all()  # the others may all be waiting already: one of them computes the round

    def _evaluate(self, objective: Objective, image: Tensor, gram_layers: Sequence[str]) -> Evaluation:
        request = _Request(objective, image, gram_layers)
        with self._cond:
            self._pending.append(request)
            self._cond.notify_all()
            while not request.done and (self._computing or len(self._pending) < self._seated):
                self._cond.wait()
            if request.done:
                return _outcome(request)
            # Every seated run is waiting and no round is being computed: this thread computes this round.
            batch, self._pending, self._computing = self._pending, [], True
        try:
            self._compute(batch)
        finally:
            with self._cond:
                for waiting in batch:
                    if waiting.evaluation is None and waiting.error is None:  # only after a BaseException
                        waiting.error = RuntimeError("the batch this evaluation was part of was interrupted")
                    waiting.done = True
                self._computing = False
                self._cond.notify_all()
        return _outcome(request)

    def _compute(self, batch: list[_Request]) -> None:
        groups: dict[tuple[object, ...], list[_Request]] = {}
        for request in batch:
            groups.setdefault(request.group, []).append(request)
        for group in groups.values():
            try:
                _evaluate_group(group)
            except Exception as error:  # noqa: BLE001 - it belongs to each run of the group, raised in its thread
                for request in group:
                    request.error = error
            with self._cond:
                self.batch_sizes[len(group)] += 1


def _evaluate_group(group: list[_Request]) -> None:
    """One forward and one backward pass for the group's images; each request gets its own evaluation."""
    if len(group) == 1:  # exactly the solo computation
        request = group[0]
        request.evaluation = request.objective.evaluate_backward(request.image, request.gram_layers)
        return
    layers = {layer for r in group for layer in r.objective.layers(r.gram_layers)}
    tapped = {layer for r in group for layer in r.objective.tapped_layers(r.gram_layers)}
    acts, grams = group[0].objective.features_and_grams(torch.cat([r.image for r in group]), layers, tapped)
    per_image = {layer: _Slices.apply(a) for layer, a in acts.items()}
    per_image_grams = {layer: g.split(1) for layer, g in grams.items()}
    evaluations = [
        r.objective.evaluate_activations(
            r.image,
            {layer: a[i] for layer, a in per_image.items()},
            r.gram_layers,
            {layer: g[i] for layer, g in per_image_grams.items()},
        )
        for i, r in enumerate(group)
    ]
    torch.stack([e.objective for e in evaluations]).sum().backward()
    for request, evaluation in zip(group, evaluations, strict=True):
        request.evaluation = evaluation


class _Slices(torch.autograd.Function):
    """A batch's images as (1, ...) views, whose backward gathers their gradients into one tensor laid out as the
    batch. ``Tensor.split``'s backward gathers them with ``cat``, which lays its result out from its inputs'
    strides; the Gram cost's gradient of one image is channels-last with a batch stride (size 1, so any) that
    ``cat`` reads as NCHW, and the network's channels-last backward then mixed layouts: measured at 256 px in
    bfloat16, 4 images, one thread, 0.17 s per image evaluation against 0.12 s alone."""

    @staticmethod
    def forward(ctx, batch: Tensor) -> tuple[Tensor, ...]:  # type: ignore[override]
        channels_last = batch.dim() == 4 and batch.is_contiguous(memory_format=torch.channels_last)
        ctx.layout = (batch.shape, batch.dtype, batch.device, channels_last)
        return tuple(batch.split(1))

    @staticmethod
    def backward(ctx, *grads: Tensor | None) -> Tensor:  # type: ignore[override]
        shape, dtype, device, channels_last = ctx.layout
        layout = torch.channels_last if channels_last else torch.contiguous_format
        gathered = torch.empty(shape, dtype=dtype, device=device, memory_format=layout)
        for index, grad in enumerate(grads):
            if grad is None:  # an image whose terms do not read this layer (another run's snapshot layer)
                gathered[index].zero_()
            else:
                gathered[index : index + 1].copy_(grad)
        return gathered


def _outcome(request: _Request) -> Evaluation:
    if request.error is not None:
        raise request.error
    assert request.evaluation is not None
    return request.evaluation


class BatchSeat:
    """One run's place at a ``BatchedEvaluator``. ``evaluate`` is the run's ``Evaluate`` (J, and ∇J left in the
    leaves' ``.grad``); ``close`` (or leaving its ``with`` block) gives the place up, once."""

    def __init__(self, evaluator: BatchedEvaluator) -> None:
        self._evaluator = evaluator
        self._lock = threading.Lock()
        self._open = True

    def evaluate(self, objective: Objective, image: Tensor, gram_layers: Sequence[str] = ()) -> Evaluation:
        if not self._open:
            raise RuntimeError("this seat was given up: take a new one (BatchedEvaluator.seat())")
        return self._evaluator._evaluate(objective, image, gram_layers)

    def close(self) -> None:
        with self._lock:
            if not self._open:
                return
            self._open = False
        self._evaluator._leave()

    def __enter__(self) -> BatchSeat:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def run_batch(
    configs: Sequence[RunConfig],
    *,
    extractor: VGGExtractor | None = None,
    on_progress: Sequence[ProgressCallback | None] | None = None,
    cancel: Sequence[CancelToken] | None = None,
    precision: Precision | None = None,
    evaluator: BatchedEvaluator | None = None,
) -> list[RunResult | Exception]:
    """Run ``configs`` together, each in its own thread with its own optimiser, their evaluations of J batched by
    one ``BatchedEvaluator``; return, in order, each run's ``RunResult`` or the exception it raised
    (``RunCancelled`` after its cancel, ``ConfigError``...). One run's failure or cancel never stops the others.

    ``on_progress`` and ``cancel`` hold one entry per run (None: none), as ``run`` takes them; each callback is
    called on its run's thread. ``extractor`` serves every run (its device is theirs); None loads one per weights
    and device. ``precision`` overrides each run's ``choose_precision`` (for tests and benchmarks); ``evaluator``
    is the one the runs are seated at (None: a new one), whose ``batch_sizes`` then tell how they shared passes.
    """
    count = len(configs)
    progress = list(on_progress) if on_progress is not None else [None] * count
    cancels = list(cancel) if cancel is not None else [None] * count
    if len(progress) != count or len(cancels) != count:
        raise ValueError(f"give one on_progress and one cancel entry per run ({count})")
    outcomes: list[RunResult | Exception] = [RuntimeError("the run did not end")] * count

    def work(index: int, own: VGGExtractor, seat: BatchSeat) -> None:
        try:
            outcomes[index] = run(
                configs[index], progress[index], cancels[index], extractor=own, precision=precision, evaluator=seat
            )
        except Exception as error:  # noqa: BLE001 - the run's own failure, reported as its outcome
            outcomes[index] = error

    loaded: dict[tuple[str, str], VGGExtractor] = {}
    evaluator = evaluator or BatchedEvaluator()
    threads = []
    for index, config in enumerate(configs):
        try:
            own = extractor or _extractor(config, loaded)
        except Exception as error:  # noqa: BLE001 - the run's own failure, reported as its outcome
            outcomes[index] = error
            continue
        # Every seat is taken before any run starts, so the first steps already share their passes.
        seat = evaluator.seat()
        threads.append(threading.Thread(target=work, args=(index, own, seat), name=f"nst-batch-run-{index}"))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _extractor(config: RunConfig, loaded: dict[tuple[str, str], VGGExtractor]) -> VGGExtractor:
    key = (_weights_name(config.weights), str(resolve_device(config.device)))
    if key not in loaded:
        loaded[key] = load_extractor(config.weights, key[1])
    return loaded[key]


def _weights_name(weights: object) -> str:
    return str(weights) if weights in ("imagenet", "random") else str(Path(weights).expanduser().resolve())  # type: ignore[arg-type]


@dataclass(frozen=True)
class BatchKey:
    """What runs must share to be evaluated in one batch at every step: the weights and device, the precision,
    the image's (H, W) at each scale and the deepest layer they read (a shallower run would pay for the rest)."""

    weights: str
    device: str
    precision: Precision
    shapes: tuple[tuple[int, int], ...]
    deepest_layer: str


def batch_key(config: RunConfig, device: torch.device | str | None = None) -> BatchKey:
    """The ``BatchKey`` of a validated ``config`` run on ``device`` (None: ``config.device``), for a queue to
    gather the runs that gain from one ``BatchedEvaluator``: runs with unequal keys still run correctly together,
    but share no network pass (or share passes that go deeper than one of them needs). Decodes the content image
    (its aspect ratio sets the shapes); raises ``ImageInputError`` when it cannot, as the run would."""
    resolved = resolve_device(config.device if device is None else device)
    content = decode_input("content", config.content)
    # The shape at each scale: the content at that longest side, as ``engine.scale_images`` loads it.
    try:
        shapes = tuple(content.shape_at(scale) for scale in config.scales)
    except ImageError as exc:
        raise ImageInputError("size" if config.start_size is None else "start_size", str(exc)) from None
    layers = [*config.style_layers, config.content_layer, *config.resolved().snapshot_layers]
    return BatchKey(
        weights=_weights_name(config.weights),
        device=str(resolved),
        precision=choose_precision(resolved, config.optimizer, config.size),
        shapes=shapes,
        deepest_layer=max(layers, key=LAYER_INDEX.__getitem__),
    )
