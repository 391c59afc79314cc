"""Time the Gram matrices and style cost of the five default style layers against plain float64 NumPy.

Activations are real VGG19 activations (random weights, seed 0) of a random image, so every layer has
its true shape. Run: python bench/gram.py [--sizes 256 512] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from nst_core import DEFAULT_STYLE_LAYERS, load_extractor
from nst_core.gram import gram_matrix, gram_style_cost


def reference(acts_s: dict[str, np.ndarray], acts_g: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], float]:
    """The textbook computation in float64: unroll, A Aᵀ, squared difference, normalise, weight."""
    grams: dict[str, np.ndarray] = {}
    total = 0.0
    for name, weight in DEFAULT_STYLE_LAYERS.items():
        n_c, n_h, n_w = acts_g[name].shape
        a_s = acts_s[name].reshape(n_c, n_h * n_w)
        a_g = acts_g[name].reshape(n_c, n_h * n_w)
        g_s, g_g = a_s @ a_s.T, a_g @ a_g.T
        grams[name] = g_g
        total += weight * float(((g_s - g_g) ** 2).sum()) / (2.0 * n_h * n_w * n_c) ** 2
    return grams, total


def ours(acts_s: dict[str, torch.Tensor], acts_g: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], float]:
    grams: dict[str, torch.Tensor] = {}
    total = torch.zeros(())
    for name, weight in DEFAULT_STYLE_LAYERS.items():
        n_c, n_h, n_w = acts_g[name].shape
        grams[name] = gram_matrix(acts_g[name])
        total += weight * gram_style_cost(gram_matrix(acts_s[name]), grams[name], n_h, n_w, n_c)
    return grams, float(total)


def best_time(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    extractor = load_extractor("random", device="cpu")
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, numpy {np.__version__}")
    print(f"{'size':>5} {'ours (ms)':>10} {'numpy f64 (ms)':>15} {'ratio':>7} {'max rel err G':>14} {'rel err J':>10}")
    for size in args.sizes:
        with torch.no_grad():
            acts_s = {
                k: v[0] for k, v in extractor(torch.rand(1, 3, size, size, generator=gen), DEFAULT_STYLE_LAYERS).items()
            }
            acts_g = {
                k: v[0] for k, v in extractor(torch.rand(1, 3, size, size, generator=gen), DEFAULT_STYLE_LAYERS).items()
            }
            np_s = {k: v.double().numpy() for k, v in acts_s.items()}
            np_g = {k: v.double().numpy() for k, v in acts_g.items()}
            # best_time calls the lambdas right here, within this iteration: they see this size's activations.
            t_ours = best_time(lambda: ours(acts_s, acts_g), args.repeat)  # noqa: B023
            t_ref = best_time(lambda: reference(np_s, np_g), args.repeat)  # noqa: B023
            grams, j = ours(acts_s, acts_g)
        ref_grams, ref_j = reference(np_s, np_g)
        err_g = max(
            float(np.abs(grams[k].double().numpy() - ref_grams[k]).max() / np.abs(ref_grams[k]).max()) for k in grams
        )
        err_j = abs(j - ref_j) / ref_j
        print(
            f"{size:>5} {t_ours * 1e3:>10.1f} {t_ref * 1e3:>15.1f} {t_ours / t_ref:>7.2f} {err_g:>14.2e} {err_j:>10.2e}"
        )


if __name__ == "__main__":
    main()
