"""The style mathematics: Gram matrices and the content, layer-style, style and total costs.

Notation follows the course: for one layer, a has n_C channels of n_H x n_W positions, and the Gram
matrix G[k, k'] = sum over positions (i, j) of a[k, i, j] * a[k', i, j] (no normalisation). These are the
formulas' own values; the optimiser may scale its objective (see ``nst_core.runs``) but what is
reported is always computed here.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from .losses.base import weighted_sum


def _check_activations(a: Tensor, name: str) -> None:
    if a.dim() not in (3, 4):
        raise ValueError(f"{name} must be (n_C, n_H, n_W) or (N, n_C, n_H, n_W), got shape {tuple(a.shape)}")


def gram_matrix(a: Tensor) -> Tensor:
    """G = A Aᵀ with A the activations unrolled to (n_C, n_H*n_W).

    ``a`` is (n_C, n_H, n_W) -> (n_C, n_C), or (N, n_C, n_H, n_W) -> (N, n_C, n_C).
    """
    _check_activations(a, "a")
    unrolled = a.flatten(-2)
    return unrolled @ unrolled.transpose(-1, -2)


def gram_style_cost(g_S: Tensor, g_G: Tensor, n_H: int, n_W: int, n_C: int) -> Tensor:
    """J_style^[l] from two Gram matrices of a layer whose generated activations are n_C x n_H x n_W.

    Batched over leading dimensions of ``g_G`` (``g_S`` broadcasts). The difference is scaled before it
    is squared so that large activations cannot overflow float32 (or bfloat16).
    """
    scale = 1.0 / (2.0 * n_H * n_W * n_C)
    return ((g_S - g_G) * scale).square().sum(dim=(-2, -1))


def style_gram_target(a_S: Tensor, n_positions_G: int) -> Tensor:
    """Gram matrix of the style activations, rescaled to mean the same per position as the generated one.

    G counts positions, so a style image with 4x the positions has a 4x larger G for the same texture.
    Multiplying G_S by (n_H^G n_W^G) / (n_H^S n_W^S) compares per-position statistics; when both sizes
    agree the factor is 1 and this is the formula as written.
    """
    n_positions_S = a_S.shape[-1] * a_S.shape[-2]
    g_S = gram_matrix(a_S)
    if n_positions_S != n_positions_G:
        g_S = g_S * (n_positions_G / n_positions_S)
    return g_S


def layer_style_cost(a_S: Tensor, a_G: Tensor) -> Tensor:
    """J_style^[l](S, G) = 1/(2 n_H n_W n_C)² Σ_k Σ_k' (G_S[k,k'] − G_G[k,k'])².

    n_H, n_W, n_C are those of the generated activations ``a_G``. When ``a_S`` has another spatial size
    (a style image of another size), G_S is rescaled by the ratio of positions (``style_gram_target``).
    Returns a scalar for (n_C, n_H, n_W) inputs, or (N,) when either input is batched.
    """
    _check_activations(a_S, "a_S")
    _check_activations(a_G, "a_G")
    n_C, n_H, n_W = a_G.shape[-3:]
    if a_S.shape[-3] != n_C:
        raise ValueError(f"a_S has {a_S.shape[-3]} channels but a_G has {n_C}")
    g_S = style_gram_target(a_S, n_H * n_W)
    return gram_style_cost(g_S, gram_matrix(a_G), n_H, n_W, n_C)


def content_cost(a_C: Tensor, a_G: Tensor) -> Tensor:
    """J_content(C, G) = 1/(4 n_H n_W n_C) Σ (a_C − a_G)²; a scalar, or (N,) for batched inputs."""
    _check_activations(a_C, "a_C")
    _check_activations(a_G, "a_G")
    if a_C.shape[-3:] != a_G.shape[-3:]:
        raise ValueError(f"a_C {tuple(a_C.shape)} and a_G {tuple(a_G.shape)} differ in shape")
    n_C, n_H, n_W = a_G.shape[-3:]
    return (a_C - a_G).square().sum(dim=(-3, -2, -1)) / (4.0 * n_H * n_W * n_C)


def style_cost(
    acts_S: Mapping[str, Tensor], acts_G: Mapping[str, Tensor], layer_weights: Mapping[str, float]
) -> Tensor:
    """J_style(S, G) = Σ_l λ^[l] J_style^[l](S, G) over the layers of ``layer_weights``."""
    if not layer_weights:
        raise ValueError("layer_weights is empty: name at least one style layer")
    missing = [name for name in layer_weights if name not in acts_S or name not in acts_G]
    if missing:
        raise KeyError(f"activations missing for style layers: {', '.join(missing)}")
    return weighted_sum({name: layer_style_cost(acts_S[name], acts_G[name]) for name in layer_weights}, layer_weights)


def total_cost(j_content: Tensor | float, j_style: Tensor | float, alpha: float, beta: float) -> Tensor | float:
    """J(G) = α J_content(C, G) + β J_style(S, G)."""
    return alpha * j_content + beta * j_style
