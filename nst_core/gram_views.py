"""Views of a Gram matrix for display, never for the cost.

The style cost uses the raw Gram matrix G = A Aᵀ (``nst_core.gram_matrix``). G is an *uncentred*
cross-covariance summed over positions, so its size depends on the image size and on how strongly
channels fire. For looking at it, these views help:

- ``"raw"``: G as defined, G[k, k'] = Σ_ij a[k,i,j] a[k',i,j].
- ``"per_position"``: G / (n_H n_W), the mean product per position (comparable across image sizes).
- ``"covariance"``: the centred covariance, mean over positions of (a_k − mean a_k)(a_k' − mean a_k').
- ``"correlation"``: the Pearson correlation in [−1, 1]. A channel that is constant over the image
  (for example a ReLU channel that never fires) has no variance, so it has no linear relation with any
  channel, itself included: its whole row and column, diagonal included, are 0. That keeps the matrix
  finite and makes such "silent" channels visible as a gap in the diagonal of ones.

All views are computed in float64 from the activations, then returned as float32.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import numpy as np
import torch
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform
from torch import Tensor

View = Literal["raw", "per_position", "covariance", "correlation"]
Ordering = Literal["natural", "clustered"]

VIEWS: Final[tuple[View, ...]] = get_args(View)
ORDERINGS: Final[tuple[Ordering, ...]] = get_args(Ordering)

VIEW_LABELS: Final[dict[View, str]] = {
    "raw": "G (raw, as in the cost)",
    "per_position": "G / (n_H·n_W) (mean per position)",
    "covariance": "covariance (centred)",
    "correlation": "correlation (Pearson, −1…1)",
}

VIEW_MENU: Final[dict[View, str]] = {
    "raw": "G (raw)",
    "per_position": "G per position",
    "covariance": "covariance",
    "correlation": "correlation",
}
"""Short names for menus: a bound menu writes them into the page's URL, so they stay short and readable."""

# Relative variance below which a channel counts as constant: float32 activations carry ~1e-7 noise.
_ZERO_VARIANCE: Final = 1e-12


def _numpy(a: Tensor | np.ndarray) -> np.ndarray:
    return a.detach().to("cpu").numpy() if isinstance(a, Tensor) else np.asarray(a)


def _unrolled(a: Tensor | np.ndarray) -> np.ndarray:
    """(n_C, n_H, n_W) or (1, n_C, n_H, n_W) activations -> float64 array (n_C, n_H*n_W)."""
    array = _numpy(a)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise ValueError(f"activations must be (n_C, n_H, n_W), got shape {array.shape}")
    return array.reshape(array.shape[0], -1).astype(np.float64)


def _correlation(unrolled: np.ndarray) -> np.ndarray:
    centred = unrolled - unrolled.mean(axis=1, keepdims=True)
    cov = centred @ centred.T
    var = np.diag(cov).copy()
    scale = np.abs(unrolled).max(axis=1) ** 2 * unrolled.shape[1]
    alive = var > _ZERO_VARIANCE * np.maximum(scale, np.finfo(np.float64).tiny)
    std = np.where(alive, np.sqrt(np.where(alive, var, 1.0)), np.inf)
    corr = cov / std[:, None] / std[None, :]
    np.fill_diagonal(corr, np.where(alive, 1.0, 0.0))
    return np.clip(corr, -1.0, 1.0)


def gram_view(a: Tensor | np.ndarray, view: View = "raw") -> Tensor:
    """The (n_C, n_C) display view ``view`` of the Gram matrix of activations ``a`` (n_C, n_H, n_W)."""
    unrolled = _unrolled(a)
    n_positions = unrolled.shape[1]
    if view == "raw":
        out = unrolled @ unrolled.T
    elif view == "per_position":
        out = unrolled @ unrolled.T / n_positions
    elif view == "covariance":
        centred = unrolled - unrolled.mean(axis=1, keepdims=True)
        out = centred @ centred.T / n_positions
    elif view == "correlation":
        out = _correlation(unrolled)
    else:
        raise ValueError(f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")
    return torch.from_numpy(out.astype(np.float32))


def _similarity(matrix_or_activations: Tensor | np.ndarray) -> np.ndarray:
    """A correlation-like (n_C, n_C) similarity: correlation of activations, or a normalised matrix."""
    array = _numpy(matrix_or_activations)
    if array.ndim != 2:
        return _correlation(_unrolled(array))
    if array.shape[0] != array.shape[1]:
        raise ValueError(f"matrix must be square (n_C, n_C), got shape {array.shape}")
    # S[k,k'] / sqrt(S[k,k] S[k',k']): a correlation stays itself, a raw G becomes the cosine similarity
    # of the channels and a covariance becomes the correlation.
    matrix = array.astype(np.float64)
    diag = np.sqrt(np.clip(np.diag(matrix), 0.0, None))
    safe = np.where(diag > 0, diag, np.inf)
    return np.clip(matrix / safe[:, None] / safe[None, :], -1.0, 1.0)


def channel_order(matrix_or_activations: Tensor | np.ndarray, method: Ordering = "natural") -> np.ndarray:
    """A permutation of the channels for display.

    "natural" is 0..n_C−1. "clustered" groups channels that fire together: average-linkage hierarchical
    clustering with distance 1 − correlation and scipy's optimal leaf ordering, so that correlated
    channels sit next to each other and block structure appears along the diagonal. Accepts a (n_C, n_C)
    matrix (any view: it is normalised by its diagonal first) or activations (n_C, n_H, n_W).
    """
    if method not in ORDERINGS:
        raise ValueError(f"unknown ordering {method!r}; choose one of {', '.join(ORDERINGS)}")
    similarity = _similarity(matrix_or_activations)
    n_channels = similarity.shape[0]
    if method == "natural" or n_channels < 3:
        return np.arange(n_channels)
    distance = 1.0 - (similarity + similarity.T) / 2.0
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(np.clip(distance, 0.0, 2.0), checks=False), method="average", optimal_ordering=True)
    return leaves_list(tree).astype(np.int64)


def neighbourhood(order: np.ndarray, channel: int, side: int) -> np.ndarray:
    """The ``side`` channels around ``channel`` in the display ``order`` (a permutation from
    ``channel_order``), ``channel`` in the middle; at either end the window slides inward, so it is always
    ``min(side, n_C)`` channels long."""
    side = min(side, len(order))
    position = int(np.flatnonzero(order == channel)[0])
    start = int(np.clip(position - side // 2, 0, len(order) - side))
    return order[start : start + side]


def active_channels(a: Tensor | np.ndarray, min_fraction: float = 0.1) -> np.ndarray:
    """Boolean mask (n_C,) of the channels of ``a`` (n_C, n_H, n_W) that are non-zero at at least
    ``min_fraction`` of the positions: sparse ReLU channels can correlate perfectly on a handful of
    positions, which says little about the image's texture."""
    return (_unrolled(a) != 0).mean(axis=1) >= min_fraction


BORDER_RATIO: Final = 3.0
"""A channel is border-dominated when its mean a² on the border is at least this many times its interior's."""


def border_mask(n_h: int, n_w: int) -> np.ndarray:
    """Boolean (n_H, n_W): True on the map's border, its first and last rows and columns."""
    mask = np.zeros((n_h, n_w), dtype=bool)
    mask[[0, -1], :] = True
    mask[:, [0, -1]] = True
    return mask


def border_shares(a: Tensor | np.ndarray) -> np.ndarray:
    """(n_C,) the share of each G[k, k] = Σ_ij a²[k,i,j] that comes from the border positions (0 for a
    silent channel)."""
    array = _numpy(a)
    border = border_mask(*array.shape[-2:]).reshape(-1)
    squares = _unrolled(array) ** 2
    total = squares.sum(axis=1)
    return np.where(total > 0, squares[:, border].sum(axis=1) / np.where(total > 0, total, 1.0), 0.0)


def border_dominated(a: Tensor | np.ndarray, ratio: float = BORDER_RATIO) -> np.ndarray:
    """Boolean mask (n_C,) of the channels of ``a`` (n_C, n_H, n_W) that fire mostly on the map's border:
    mean a² per border position at least ``ratio`` times the mean per interior position (or a silent
    interior). Zero padding lights up the border of untrained networks' deep layers; such channels
    correlate perfectly with each other whatever the image shows."""
    array = _numpy(a)
    n_h, n_w = array.shape[-2:]
    border = border_mask(n_h, n_w)
    if border.all():  # a map of two rows or columns or fewer has no interior to compare with
        return np.zeros(array.shape[-3], dtype=bool)
    share = border_shares(array)
    fraction = border.mean()
    # share / fraction vs (1 - share) / (1 - fraction): the per-position means of the two parts.
    return (share > 0) & (share * (1 - fraction) >= ratio * (1 - share) * fraction)


Pair = tuple[int, int, float]


def top_pairs(matrix: Tensor | np.ndarray, k: int, exclude_diagonal: bool = True, by_abs: bool = False) -> list[Pair]:
    """The ``k`` largest entries (k, k', value) with k < k' (k <= k' when the diagonal is included).

    Only the upper triangle is searched since the matrices are symmetric. ``by_abs`` ranks by |value|
    (the value returned keeps its sign). Ties keep the row-major order.
    """
    array = _numpy(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"matrix must be square (n_C, n_C), got shape {array.shape}")
    rows, cols = np.triu_indices(array.shape[0], k=1 if exclude_diagonal else 0)
    values = array[rows, cols].astype(np.float64)
    key = np.abs(values) if by_abs else values
    best = np.argsort(-key, kind="stable")[: max(k, 0)]
    return [(int(rows[i]), int(cols[i]), float(values[i])) for i in best]


def top_difference_pairs(g_S: Tensor | np.ndarray, g_G: Tensor | np.ndarray, k: int) -> list[Pair]:
    """The ``k`` channel pairs (k <= k') with the largest |G_S − G_G|, as (k, k', G_S − G_G)."""
    s, g = _numpy(g_S).astype(np.float64), _numpy(g_G).astype(np.float64)
    if s.shape != g.shape:
        raise ValueError(f"G_S {s.shape} and G_G {g.shape} differ in shape")
    return top_pairs(s - g, k, exclude_diagonal=False, by_abs=True)
