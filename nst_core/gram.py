"""The style mathematics: Gram matrices and the content, layer-style, style and total costs.

Notation follows the course: for one layer, a has n_C channels of n_H x n_W positions, and the Gram
matrix G[k, k'] = sum over positions (i, j) of a[k, i, j] * a[k', i, j] (no normalisation). This module is
the only place a cost is computed: the style losses (``nst_core.losses``), a run's objective, the lesson
and the pages all call these functions, so a number on screen is one grep away from its formula. The
optimiser may scale its objective (see ``nst_core.optim``), but what is reported is always computed here.

Which function gives which number:

- ``gram_matrix``: G[k, k'] of one image at one layer (the explorer's heatmaps, the CLI's ``gram``); with
  ``dtype=torch.float32``, the float32 G of bfloat16 activations (a bfloat16 run's snapshots).
- ``per_position_gram`` and ``style_gram_target``: G_S per position (several styles blended), and G_S rescaled
  to the generated image's number of positions (what a run optimises towards and stores).
- ``gram_style_cost``: J_style^[l] from two Gram matrices (a stored run's G_S and G_G).
- ``layer_style_cost``: J_style^[l] from activations, or from Gram matrices with ``n_H`` and ``n_W``.
- ``region_style_cost``: J_style^[l] of a region (spatial control), with the guided Gram matrix
  ``guided_gram_matrix``; without a region it is ``layer_style_cost``, fused (``activation_style_cost``).
- ``gram_tap``: G_G computed where the network's pass produces the activations, the pass going on from the tap, so
  that G's gradient joins the network's in one product (a run's step: ``VGGExtractor.activations_and_grams``,
  then ``gram_style_cost`` of G_G).
- ``activation_style_cost``: J_style^[l] and G_G from the generated activations against a G_S, ``gram_tap`` then
  ``gram_style_cost`` (a batch of runs' step, regions aside: there the activations are slices of the batch's).
- ``weighted_style_terms`` and ``style_cost``: λ^[l] J_style^[l] per layer, and their sum J_style.
- ``content_cost`` and ``total_cost``: J_content and J = α J_content + β J_style.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, TypeVar

import torch
from torch import Tensor

T = TypeVar("T", Tensor, float)


def _check_activations(a: Tensor, name: str) -> None:
    if a.dim() not in (3, 4):
        raise ValueError(f"{name} must be (n_C, n_H, n_W) or (N, n_C, n_H, n_W), got shape {tuple(a.shape)}")


def _unrolled(a: Tensor) -> Tensor:
    """A: the activations (..., n_C, n_H, n_W) as (..., n_C, n_H*n_W), a view whatever the memory layout.

    Channels-last activations (what a run's network gives) hold each position's n_C values together, so their
    unrolled A is a transposed view; ``flatten`` would copy them to the other layout first (measured 2-3 ms per
    step at 256 px, and the copy's backward then mixes layouts in the network's own backward).
    """
    n_C, _, n_W = a.shape[-3:]
    if n_C > 1 and a.stride(-3) == 1 and a.stride(-1) == n_C and a.stride(-2) == n_W * n_C:
        return a.movedim(-3, -1).flatten(-3, -2).transpose(-1, -2)
    return a.flatten(-2)


GRAM_CHUNK_POSITIONS: Final = 4096
"""Positions per product when a Gram matrix is computed in a wider dtype than its activations' on the CPU."""
GRAM_BLOCK_CHANNELS: Final = 128
"""Rows per product of a Gram matrix of at least twice as many channels on the CPU (``_self_product``)."""


def gram_matrix(a: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """G = A Aᵀ with A the activations unrolled to (n_C, n_H*n_W).

    ``a`` is (n_C, n_H, n_W) -> (n_C, n_C), or (N, n_C, n_H, n_W) -> (N, n_C, n_C). ``dtype`` (None: ``a``'s)
    computes G in that dtype: with bfloat16 activations and float32, G is ``gram_matrix(a.float())`` exactly
    as the formula gives it, without a float32 copy of the whole map (``_widened_gram``).
    """
    _check_activations(a, "a")
    with torch.autocast(a.device.type, enabled=False):  # G in ``dtype`` within a caller's autocast too
        return _widened_gram(_unrolled(a), a.dtype if dtype is None else dtype)


def _widened_gram(unrolled: Tensor, dtype: torch.dtype) -> Tensor:
    """A Aᵀ in ``dtype`` from A (..., n_C, positions); on the CPU in ``dtype``'s arithmetic, summed over
    ``GRAM_CHUNK_POSITIONS`` positions at a time when A must be widened first.

    A float32 copy of a large map is a fresh allocation each step (at 512 px relu1_1's is 35 MB, past glibc's
    largest recycled block, so every page of it faults in again) that one product then reads once. Each chunk is
    copied into one buffer (1 MB at 64 channels), still in cache when its product reads it, and the product
    accumulates into G in place: the same products summed in another order. Measured by ``bench/optimize.py
    --tricks`` (float32 G of the five style layers of a bfloat16 run, one thread): 47 -> 35 ms at 512 px, 10.9 ->
    10.6 ms at 256 px with a fresh copy and product per chunk; the one buffer then 43.7 -> 40.6 ms at 512 px (12.8 ->
    12.7 at 256 px).

    The product itself stays a float32 one. No CPU kernel of torch 2.14 takes bfloat16 factors to a float32 result
    (``torch.mm(..., out_dtype=)`` is CUDA's); a bfloat16 product rounds G to 3 digits, and it was no faster for 64
    and 128 channels (64 x 43520 positions: 11.7 ms against 2.3 in float32); oneDNN's bfloat16 arithmetic for float32
    products (``torch.backends.mkldnn.matmul.fp32_precision``) is a process-wide switch, which would round other
    threads' float32 products too, and was slower still (20 ms there).
    """
    positions = unrolled.shape[-1]
    if unrolled.device.type != "cpu":
        wide = unrolled.to(dtype)
        return wide @ wide.transpose(-1, -2)
    if unrolled.dtype == dtype or positions <= GRAM_CHUNK_POSITIONS:
        return _self_product(unrolled.to(dtype))
    pieces = unrolled.split(GRAM_CHUNK_POSITIONS, dim=-1)
    wide = torch.empty_like(pieces[0], dtype=dtype)  # in the chunks' own layout: a plain conversion, no transpose
    gram = _self_product(wide.copy_(pieces[0]))
    for piece in pieces[1:]:
        _self_product(wide[..., : piece.shape[-1]].copy_(piece), into=gram)
    return gram


def _self_product(a: Tensor, into: Tensor | None = None) -> Tensor:
    """A Aᵀ for A (..., n_C, positions), or ``into`` += A Aᵀ (then always by blocks, so that every sum lands in the
    lower block triangle), its lower block triangle computed and mirrored from 2 blocks of ``GRAM_BLOCK_CHANNELS``
    channels up: 62 % of the products at 512 channels. One general product computes both triangles; CPU BLAS has a
    symmetric one (``syrk``) that torch does not call (scipy's OpenBLAS ``ssyrk`` was no faster than these blocks).
    Below 256 channels or 512 positions the smaller products ran slower than they saved (512 channels x 160
    positions: 0.58 ms, 0.51 whole). Measured by ``bench/optimize.py --tricks`` (as ``_widened_gram``): 35 -> 31 ms
    at 512 px, 10.3 -> 9.3 ms at 256 px. G comes out exactly symmetric.
    """
    n_C, positions = a.shape[-2:]
    if into is None and (n_C < 2 * GRAM_BLOCK_CHANNELS or positions < 4 * GRAM_BLOCK_CHANNELS):
        return a @ a.transpose(-1, -2)  # below, one product is faster
    gram = a.new_zeros(*a.shape[:-1], n_C) if into is None else into
    a3, g3 = (a, gram) if a.dim() == 3 else (a[None], gram[None])  # baddbmm_ adds in place, in batches
    if n_C < 2 * GRAM_BLOCK_CHANNELS:
        g3.baddbmm_(a3, a3.mT)
        return gram
    for start in range(0, n_C, GRAM_BLOCK_CHANNELS):
        end = min(start + GRAM_BLOCK_CHANNELS, n_C)
        g3[:, start:, start:end].baddbmm_(a3[:, start:], a3[:, start:end].mT)  # rows start.., columns start..end
        g3[:, start:end, end:] = g3[:, end:, start:end].mT
    return gram


def guided_gram_matrix(a: Tensor, mask: Tensor) -> Tensor:
    """G^w = A diag(w) Aᵀ: the Gram matrix of a region (Gatys et al. 2017, spatial control).

    ``mask`` w (n_H, n_W), values in [0, 1], says how much each position belongs to the region; all ones give
    ``gram_matrix(a)``.
    """
    _check_activations(a, "a")
    unrolled = _unrolled(a)
    return (unrolled * mask.flatten()) @ unrolled.transpose(-1, -2)


def per_position_gram(acts_S: Tensor | Sequence[Tensor], blend: Sequence[float] | None = None) -> Tensor:
    """Ḡ_S = Σ_s b_s G_S^(s) / (n_H^(s) n_W^(s)): the Gram matrix per position, which compares images of different
    sizes; for several style images, their per-position Gram matrices in the proportions ``blend`` (summing to 1).
    """
    if isinstance(acts_S, Tensor):
        acts_S, blend = [acts_S], [1.0]
    if blend is None or len(blend) != len(acts_S):
        raise ValueError(f"give one blend weight per style image ({len(acts_S)})")
    grams = [gram_matrix(a) / (a.shape[-1] * a.shape[-2]) for a in acts_S]
    blended = blend[0] * grams[0]
    for share, g in zip(blend[1:], grams[1:], strict=True):
        blended = blended + share * g
    return blended


def style_gram_target(
    acts_S: Tensor | Sequence[Tensor], n_positions_G: int | float | Tensor, blend: Sequence[float] | None = None
) -> Tensor:
    """G_S as it is compared with G_G: the style's per-position Gram matrix times the generated map's positions.

    G counts positions, so a style image with 4x the positions has a 4x larger G for the same texture:
    Ḡ_S · n_H^G n_W^G compares per-position statistics, and when both images have as many positions it is G_S as
    the formula writes it. This is what a run optimises towards and stores as G_S; multiplying by
    (n_H^S n_W^S) / (n_H^G n_W^G) gives back the style image's own G_S.
    """
    if isinstance(acts_S, Tensor) and not isinstance(n_positions_G, Tensor):
        if acts_S.shape[-1] * acts_S.shape[-2] == n_positions_G:
            return gram_matrix(acts_S)  # exactly the formula's G_S, not G_S / n * n
    return per_position_gram(acts_S, blend) * n_positions_G


def gram_style_cost(g_S: Tensor, g_G: Tensor, n_H: int, n_W: int, n_C: int) -> Tensor:
    """J_style^[l] = 1/(2 n_H n_W n_C)² Σ_k Σ_k' (G_S[k,k'] − G_G[k,k'])² from two Gram matrices of a layer
    whose generated activations are n_C x n_H x n_W.

    Batched over leading dimensions of ``g_G`` (``g_S`` broadcasts). The difference is scaled before it
    is squared so that large activations cannot overflow float32 (or bfloat16).
    """
    return _GramDistance.apply(g_G, g_S, 1.0 / (2.0 * n_H * n_W * n_C))


class _GramDistance(torch.autograd.Function):
    """Σ (s (G_G − G_S))² and its gradient 2 s · s(G_G − G_S), written out: autograd of the composed expression
    makes four passes back over the n_C x n_C matrices where this makes one: the five style layers' costs and
    gradients took 2.2 ms, now 1.3 ms at 256 px (``bench/optimize.py --tricks``, one thread). The value is the
    composed expression's, to the last bit."""

    @staticmethod
    def forward(ctx, g_G: Tensor, g_S: Tensor, scale: float) -> Tensor:  # type: ignore[override]
        scaled_difference = (g_G - g_S).mul_(scale)
        ctx.save_for_backward(scaled_difference)
        ctx.scale, ctx.shape_S = scale, g_S.shape
        return scaled_difference.square().sum(dim=(-2, -1))

    @staticmethod
    def backward(ctx, grad_cost: Tensor) -> tuple[Tensor | None, Tensor | None, None]:  # type: ignore[override]
        (scaled_difference,) = ctx.saved_tensors
        grad = scaled_difference * (2.0 * ctx.scale * grad_cost[..., None, None])
        grad_S = -grad.sum_to_size(ctx.shape_S) if ctx.needs_input_grad[1] else None
        return grad if ctx.needs_input_grad[0] else None, grad_S, None


def layer_style_cost(a_S: Tensor, a_G: Tensor, *, n_H: int | None = None, n_W: int | None = None) -> Tensor:
    """J_style^[l](S, G) = 1/(2 n_H n_W n_C)² Σ_k Σ_k' (G_S[k,k'] − G_G[k,k'])².

    From activations: ``a_S`` and ``a_G`` are (n_C, n_H, n_W) (or batched); n_H, n_W, n_C are those of the
    generated activations, and when ``a_S`` has another spatial size (a style image of another size), G_S is
    rescaled by the ratio of positions (``style_gram_target``). Returns a scalar, or (N,) when batched.

    From Gram matrices: pass G_S and G_G, each (n_C, n_C), with the generated map's ``n_H`` and ``n_W``
    (a Gram matrix does not know them): a stored run's G_S and G_G give its recorded J_style^[l].
    """
    if n_H is not None or n_W is not None:
        if n_H is None or n_W is None:
            raise ValueError("pass both n_H and n_W with Gram matrices")
        if a_S.shape[-1] != a_S.shape[-2] or a_S.shape[-2:] != a_G.shape[-2:]:
            raise ValueError(f"G_S {tuple(a_S.shape)} and G_G {tuple(a_G.shape)} must be (n_C, n_C) of one layer")
        return gram_style_cost(a_S, a_G, n_H, n_W, a_G.shape[-1])
    _check_activations(a_S, "a_S")
    _check_activations(a_G, "a_G")
    n_C, n_H, n_W = a_G.shape[-3:]
    if a_S.shape[-3] != n_C:
        raise ValueError(f"a_S has {a_S.shape[-3]} channels but a_G has {n_C}")
    g_S = style_gram_target(a_S, n_H * n_W)
    return gram_style_cost(g_S, gram_matrix(a_G), n_H, n_W, n_C)


class _GramTap(torch.autograd.Function):
    """(A, G = A Aᵀ in a wider dtype) where the network's pass produces A; the backward adds dG's share into A's
    gradient inside one product.

    A style layer's activations feed both the rest of the network and the style cost. As two uses of one tensor,
    their gradients are two tensors of the layer's size that autograd then adds: one more pass over the largest
    maps of the network, in bfloat16 (at 512 px relu1_1's add alone took 10-17 ms of a step). Here the network
    continues from the tap's first output, so the backward receives both the network's gradient g and dJ/dG, and
    returns g + (dJ/dG + dJ/dGᵀ) A as one product that accumulates into g (``baddbmm`` with g as its addend, in
    place: g is the engine's buffer, which no other node reads). Measured by ``bench/optimize.py --tricks``
    (forward + backward to relu5_1 with the five Gram costs, one thread): 344 -> 306 ms at 512 px, 116 -> 113 ms at
    256 px.
    """

    @staticmethod
    def forward(ctx, a: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        ctx.save_for_backward(a)
        ctx.set_materialize_grads(False)
        with torch.autocast(a.device.type, enabled=False):  # the pass runs under autocast: G stays in ``dtype``
            return a.view_as(a), _widened_gram(_unrolled(a), dtype)

    @staticmethod
    def backward(ctx, grad_a: Tensor | None, grad_gram: Tensor | None) -> tuple[Tensor | None, None]:  # type: ignore[override]
        (a,) = ctx.saved_tensors
        if grad_gram is None:
            return grad_a, None
        factor = torch.add(
            grad_gram, grad_gram.transpose(-1, -2), out=grad_gram.new_empty(grad_gram.shape, dtype=a.dtype)
        )
        if grad_a is not None and grad_a._base is None and grad_a.stride() == a.stride():
            grad = grad_a  # the engine's buffer of this node's input, handed to this node alone
        else:
            grad = torch.empty_like(a) if grad_a is None else torch.empty_like(a).copy_(grad_a)
        _accumulate_product(_unrolled(grad), factor, _unrolled(a), 0.0 if grad_a is None else 1.0)
        return grad, None


def _accumulate_product(out: Tensor, factor: Tensor, unrolled: Tensor, beta: float) -> None:
    """out = beta·out + F A for unrolled activations A (..., n_C, positions), written into ``out`` (an unrolled
    gradient): channels-last, it is a transposed view, so (Aᵀ Fᵀ)ᵀ is computed there."""
    batch = unrolled.shape[:-2]
    if out.stride(-2) == 1 and out.shape[-2] > 1:
        out, unrolled, factor = out.transpose(-1, -2), unrolled.transpose(-1, -2), factor.transpose(-1, -2)
        left, right = unrolled, factor
    else:
        left, right = factor, unrolled
    out = out.view(-1, *out.shape[-2:])  # a view, so the product lands in ``out``'s memory
    left, right = (m.expand(*batch, *m.shape[-2:]).reshape(-1, *m.shape[-2:]) for m in (left, right))
    torch.baddbmm(out, left, right, beta=beta, out=out)


def gram_tap(a: Tensor, dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """(``a``, its G = A Aᵀ computed in ``dtype``) for a network's pass to go on from the first: then G's gradient is
    added into the activations' in their own backward product (``_GramTap``). ``a`` is (n_C, n_H, n_W) or batched.
    G is ``gram_matrix(a, dtype)``; both outputs are differentiable."""
    _check_activations(a, "a")
    return _GramTap.apply(a, dtype)


def activation_style_cost(g_S: Tensor, a_G: Tensor) -> tuple[Tensor, Tensor]:
    """J_style^[l] = 1/(2 n_H n_W n_C)² Σ (G_S − G_G)² and G_G, from the generated activations ``a_G``
    (n_C, n_H, n_W), or batched (N, ...) -> (N,) costs and (N, n_C, n_C) Gram matrices, against ``g_S``
    (n_C, n_C), as ``style_gram_target`` gives it for a_G's positions.

    ``gram_style_cost(g_S, gram_matrix(a_G.float()), ...)`` with written-out backwards (``gram_tap``'s, then
    ``gram_style_cost``'s): G_G and J in float32 (float64 if either input is) whatever ``a_G``'s dtype, the gradient
    one product in ``a_G``'s dtype (bfloat16 arithmetic, float32 accumulation under a bfloat16 run) and memory
    layout. Autograd of the composed formula cost twice this (measured at 256 px in bfloat16: ~25 ms of a 115 ms
    step): it cast A to float32 and back, ran two float32 products for the backward of A Aᵀ and added them, and
    handed the network's backward a float32, NCHW gradient that it converted again. G_G is returned too (without
    gradient), so a step that records it need not recompute it.
    """
    _check_activations(a_G, "a_G")
    n_C, n_H, n_W = a_G.shape[-3:]
    if g_S.shape[-2:] != (n_C, n_C):
        raise ValueError(f"G_S {tuple(g_S.shape)} does not match {n_C} channels")
    dtype = torch.promote_types(torch.promote_types(a_G.dtype, g_S.dtype), torch.float32)
    _, g_G = gram_tap(a_G, dtype)
    return gram_style_cost(g_S.to(dtype), g_G, n_H, n_W, n_C), g_G.detach()


def region_style_cost(g_S_per_position: Tensor, a_G: Tensor, mask: Tensor | None = None) -> Tensor:
    """J_style^[l] of the generated activations ``a_G`` (n_C, n_H, n_W) against the style's per-position Gram
    matrix Ḡ_S (``per_position_gram``), within a region.

    With a region's ``mask`` w (n_H, n_W) in [0, 1]: 1/(2 n_H n_W n_C)² Σ (Σw · Ḡ_S − A diag(w) Aᵀ)², the guided Gram
    matrix against the style's statistics over as many positions as the region holds (Gatys et al. 2017). Without
    a region, Σw = n_H n_W and G_G = A Aᵀ: ``layer_style_cost``.
    """
    n_C, n_H, n_W = a_G.shape[-3:]
    if mask is None:
        return activation_style_cost(g_S_per_position * float(n_H * n_W), a_G)[0]
    guided = guided_gram_matrix(a_G.float(), mask)
    return gram_style_cost(g_S_per_position * mask.sum(), guided, n_H, n_W, n_C)


def content_cost(a_C: Tensor, a_G: Tensor) -> Tensor:
    """J_content(C, G) = 1/(4 n_H n_W n_C) Σ (a_C − a_G)²; a scalar, or (N,) for batched inputs."""
    _check_activations(a_C, "a_C")
    _check_activations(a_G, "a_G")
    if a_C.shape[-3:] != a_G.shape[-3:]:
        raise ValueError(f"a_C {tuple(a_C.shape)} and a_G {tuple(a_G.shape)} differ in shape")
    n_C, n_H, n_W = a_G.shape[-3:]
    return _ContentDistance.apply(a_C, a_G, 4.0 * n_H * n_W * n_C)


class _ContentDistance(torch.autograd.Function):
    """Σ (a_G − a_C)² / d and its gradient 2 (a_G − a_C) / d, written out: in float32 (float64 if either input is)
    whatever a_G's dtype, the gradient returned in a_G's dtype and layout. Autograd of the composed formula on
    ``a_G.float()`` made eight passes over the layer where this makes four (the cast, the difference, its square
    and its gradient's cast). The value and the gradient are the composed formula's, to the last bit."""

    @staticmethod
    def forward(ctx, a_C: Tensor, a_G: Tensor, denominator: float) -> Tensor:  # type: ignore[override]
        dtype = torch.promote_types(torch.promote_types(a_C.dtype, a_G.dtype), torch.float32)
        difference = torch.sub(a_G, a_C.to(dtype))  # a bfloat16 a_G is widened within the subtraction
        ctx.save_for_backward(difference)
        ctx.denominator, ctx.dtype_G, ctx.shape_C = denominator, a_G.dtype, a_C.shape
        return difference.square().sum(dim=(-3, -2, -1)) / denominator

    @staticmethod
    def backward(ctx, grad_cost: Tensor) -> tuple[Tensor | None, Tensor | None, None]:  # type: ignore[override]
        (difference,) = ctx.saved_tensors
        factor = grad_cost[..., None, None, None] * (2.0 / ctx.denominator)
        grad_G = (difference * factor).to(ctx.dtype_G)  # a product with a bfloat16 out= is 10x slower (unvectorised)
        grad_C = -(difference * factor).sum_to_size(ctx.shape_C) if ctx.needs_input_grad[0] else None
        return grad_C, grad_G if ctx.needs_input_grad[1] else None, None


def weighted_style_terms(layer_costs: Mapping[str, T], layer_weights: Mapping[str, float]) -> dict[str, T]:
    """λ^[l] J^[l] for each layer of ``layer_weights`` (λ by layer): the summands of J_style."""
    if not layer_weights:
        raise ValueError("layer_weights is empty: name at least one style layer")
    missing = [layer for layer in layer_weights if layer not in layer_costs]
    if missing:
        raise KeyError(f"no value for style layers: {', '.join(missing)}")
    return {layer: layer_weight * layer_costs[layer] for layer, layer_weight in layer_weights.items()}


def style_cost(
    acts_S: Mapping[str, Tensor] | None = None,
    acts_G: Mapping[str, Tensor] | None = None,
    layer_weights: Mapping[str, float] | None = None,
    *,
    layer_costs: Mapping[str, T] | None = None,
) -> Tensor | T:
    """J_style(S, G) = Σ_l λ^[l] J_style^[l](S, G) over the layers of ``layer_weights``.

    Either from the activations of S and G by layer (each layer's J_style^[l] by ``layer_style_cost``), or from
    each layer's J_style^[l] already computed (``layer_costs``, as a run's objective has them).
    """
    if layer_weights is None:
        raise ValueError("layer_weights (λ by layer) is required")
    if layer_costs is None:
        if acts_S is None or acts_G is None:
            raise ValueError("pass the activations of S and G, or layer_costs")
        missing = [name for name in layer_weights if name not in acts_S or name not in acts_G]
        if missing:
            raise KeyError(f"activations missing for style layers: {', '.join(missing)}")
        layer_costs = {name: layer_style_cost(acts_S[name], acts_G[name]) for name in layer_weights}  # type: ignore[misc]
    terms = iter(weighted_style_terms(layer_costs, layer_weights).values())
    total = next(terms)
    for term in terms:
        total = total + term
    return total


def total_cost(j_content: T, j_style: T, alpha: float, beta: float) -> T:
    """J(G) = α J_content(C, G) + β J_style(S, G)."""
    return alpha * j_content + beta * j_style
