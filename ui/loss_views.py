"""Style vs generated, beyond the Gram matrices: what a run's own style loss compared, and its regions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st
import torch
from torch import Tensor

from nst_core.explain import mean_cov_pair, objective_images, sorted_projection_pair
from nst_core.figures import covariance_pair_figure, mean_vector_figure, sorted_projections_figure
from nst_core.images import to_pil

from .resources import get_extractor

if TYPE_CHECKING:
    from nst_core import RunResult


@st.cache_resource(show_spinner="Computing the activations the loss compared…", max_entries=16)
def _loss_activations(job_id: str, layer: str, _result: RunResult) -> tuple[Tensor, Tensor]:
    """Activations (n_C, n_H, n_W) of the first style image and of the result at ``layer``, as the run saw them.

    Keyed by the job id: a finished run never changes."""
    styles, generated, _ = objective_images(_result)
    extractor = get_extractor()
    with torch.inference_mode():
        style, result = (
            extractor(image.to(extractor.device), [layer])[layer][0].to("cpu", torch.float32)
            for image in (styles[0], generated)
        )
    return style, result


def show_regions(result: RunResult, label: str) -> None:
    """Each style image beside its mask and the part of the result that mask gave it."""
    if result.config.regions is None:
        return
    styles, _, masks = objective_images(result)
    st.subheader("Regions: which mask drove which style")
    for index, (style, mask) in enumerate(zip(styles, masks or [], strict=True), start=1):
        style_image, mask_image, where = st.columns(3)
        style_image.image(to_pil(style), caption=f"Style {index} of {len(styles)}", width="stretch")
        mask_image.image(
            to_pil(mask.expand(-1, 3, -1, -1)), caption=f"Mask {index}: white = style {index}", width="stretch"
        )
        where.image(to_pil(result.image * mask), caption=f"{label} where style {index} applied", width="stretch")


def show_loss_views(job_id: str, result: RunResult, layer: str) -> None:
    """For ``mean_cov``: mean vectors and covariance matrices; for ``sliced_wasserstein``: sorted projections."""
    if (loss := result.config.style_loss) == "gram":
        return
    acts_S, acts_G = _loss_activations(job_id, layer, result)
    first = " (the first style image)" if len(result.config.resolved().style) > 1 else ""
    if loss == "mean_cov":
        st.subheader(f"What the mean + covariance loss compared at {layer}{first}")
        st.caption(
            "W2² between Gaussians = |μ_G − μ_S|² + tr Σ_G + tr Σ_S − 2 tr (Σ_S^½ Σ_G Σ_S^½)^½: "
            "the means per channel and the covariances between channels, at the last step."
        )
        stats = mean_cov_pair(acts_S, acts_G)
        st.plotly_chart(mean_vector_figure(stats.mean_S, stats.mean_G, layer), theme=None, key="svg_means")
        st.plotly_chart(covariance_pair_figure(stats.cov_S, stats.cov_G, layer), theme=None, key="svg_covariances")
    elif loss == "sliced_wasserstein":
        st.subheader(f"What the sliced-Wasserstein loss compared at {layer}{first}")
        st.caption(
            "The activations projected on random directions (the run's seed), sorted: the loss is the mean squared "
            "gap between the style's and the generated image's curves, over one direction per channel."
        )
        pair = sorted_projection_pair(acts_S, acts_G, result.config.seed)
        st.plotly_chart(sorted_projections_figure(pair.style, pair.generated, layer), theme=None, key="svg_projections")
