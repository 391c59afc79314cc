"""The lesson's last steps, what the style cost adds up: the generated image G it compares the style image
with, one layer's cost (4), the weighted sum over layers (5), and the total cost with the content term (6)."""

from __future__ import annotations

from typing import Final

import streamlit as st
import torch

from nst_core.explain import CostBreakdown, cost_breakdown
from nst_core.layers import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS

from .latex import escaped, number
from .resources import activations, analysis_shape
from .state import PickedImage, generated_images, image_from_tensor

LAYERS: Final = [*DEFAULT_STYLE_LAYERS, DEFAULT_CONTENT_LAYER]


def generated_picker(content: PickedImage) -> PickedImage:
    """The picker of the image G that steps 4 to 6 compare with the style image: a run's result or
    snapshot, else a stand-in (the content image, white noise)."""
    noise = torch.rand(1, 3, *analysis_shape(content), generator=torch.Generator().manual_seed(0))
    options: dict[str, PickedImage] = {}
    for image in generated_images():
        options.setdefault(f"{image.kind}: {image.label}", image)
    options["Content image (stand-in: a run starts from it)"] = content
    options["White noise (stand-in: another common start)"] = image_from_tensor(
        noise, "white noise (stand-in)", "result"
    )
    choice = st.selectbox(
        "Generated image G",
        list(options),
        key="lesson_generated",
        help="Numbers below compare the style image S with this image. Run a transfer to use its result.",
    )
    return options[choice]


def lesson_breakdown(
    style: PickedImage, generated: PickedImage, content: PickedImage, alpha: float, beta: float
) -> CostBreakdown:
    """Every term of J(G) at the default layers, from the activations the other pages analyse too."""
    shape = analysis_shape(content)
    acts_S = activations(style, LAYERS)
    acts_G = activations(generated, LAYERS, shape)
    acts_C = activations(content, LAYERS, shape)
    return cost_breakdown(acts_S, acts_G, acts_C, DEFAULT_STYLE_LAYERS, DEFAULT_CONTENT_LAYER, alpha, beta)


def step_layer_cost(breakdown: CostBreakdown, layer: str) -> None:
    st.header("4 · The style cost of one layer")
    term = next((t for t in breakdown.style_terms if t.layer == layer), breakdown.style_terms[0])
    name = escaped(term.layer)
    st.latex(
        f"J^{{[\\text{{{name}}}]}}_{{style}}(S,G) = \\frac{{1}}{{(2\\, n_H n_W n_C)^2}}"
        "\\sum_k \\sum_{k'} \\left(G^{(S)}_{kk'} - G^{(G)}_{kk'}\\right)^2"
    )
    st.latex(
        f"= \\frac{{1}}{{(2 \\cdot {term.n_H} \\cdot {term.n_W} \\cdot {term.n_C})^2}}"
        f" \\cdot {number(term.squared_difference)}"
        f" = {number(term.constant)} \\cdot {number(term.squared_difference)} = {number(term.cost)}"
    )
    st.markdown(
        f"Here n_H × n_W = {term.n_H} × {term.n_W} are the sizes of the **generated image G's** maps at "
        f"{term.layer}; step 3's n_H and n_W were the style image S's. Where the two sizes differ, S's Gram matrix "
        "is first rescaled to G's number of positions, so that both count the same positions.\n\n"
        f"The normalising constant of **{term.layer}** is 1/(2·{term.n_H}·{term.n_W}·{term.n_C})² = "
        f"${number(term.constant)}$. Each G entry is a sum over n_H·n_W positions, and the cost adds up "
        "n_C × n_C squared differences: dividing by (n_H·n_W·n_C)² keeps layers of different sizes comparable."
    )


def step_total_style(breakdown: CostBreakdown) -> None:
    st.header("5 · The total style cost: a weighted sum over layers")
    # A Markdown table, not st.table: its text is body-sized, these numbers are read from the back of a room.
    rows = [
        f"| {t.layer} | {t.layer_weight:g} | {t.n_C} × {t.n_H} × {t.n_W} | {t.cost:.4g} | {t.weighted:.4g} |"
        for t in breakdown.style_terms
    ]
    st.markdown(
        "| layer | λ | n_C × n_H × n_W | J_style[l] | λ·J_style[l] |\n|:--|--:|--:|--:|--:|\n" + "\n".join(rows)
    )
    terms = [f"{t.layer_weight:g} \\cdot {number(t.cost, 3)}" for t in breakdown.style_terms]
    half = (len(terms) + 1) // 2  # two lines, so that five layers fit the width of a projector
    st.latex(
        "\\begin{aligned} J_{style}(S,G) &= \\sum_l \\lambda^{[l]} J^{[l]}_{style}(S,G) \\\\ "
        f"&= {' + '.join(terms[:half])} \\\\ &\\quad + {' + '.join(terms[half:])} = {number(breakdown.j_style)}"
        " \\end{aligned}"
    )
    st.markdown(
        "$\\lambda^{[l]}$ says how much each layer matters: early layers carry fine texture, deep layers larger motifs."
    )


def step_total(breakdown: CostBreakdown) -> None:
    st.header("6 · The total cost")
    n_c, n_h, n_w = breakdown.content_shape
    st.latex(
        f"J_{{content}}(C,G) = \\frac{{1}}{{4 \\cdot {n_h} \\cdot {n_w} \\cdot {n_c}}}"
        f"\\sum (a^{{(C)}} - a^{{(G)}})^2 = {number(breakdown.j_content)}"
        f"\\quad(\\text{{at {escaped(breakdown.content_layer)}}})"
    )
    st.latex(
        f"J(G) = \\alpha J_{{content}} + \\beta J_{{style}} = {breakdown.alpha:g} \\cdot {number(breakdown.j_content)}"
        f" + {breakdown.beta:g} \\cdot {number(breakdown.j_style)} = {number(breakdown.j)}"
    )
    st.markdown(
        "A run starts from an image G (often the content image, so J_content starts at 0) and changes its pixels "
        "to lower J: α keeps it close to the content, β pulls its Gram matrices towards the style's."
    )
