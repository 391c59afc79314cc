"""The Run page's "New run" section: what a run optimises, the preset, the estimate and Launch above the
Run form's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import streamlit as st

from nst_core import ConfigError, NSTError, estimate_run
from nst_core.errors import AdmissionError

from .links import RUN_PARAM
from .run_form import (
    SETTINGS_OPEN,
    config_problem,
    preset_picker,
    run_config,
    run_settings,
    settings_summary,
    use_settings,
)
from .runs import CURRENT_KEY, duration
from .state import current_content, current_style, current_weights
from .submit import submit_run

if TYPE_CHECKING:
    from nst_core import RunConfig

NEW_RUN_OPEN: Final = "run_new_open"
"""Session key: the "New run" fold's state below a shown run."""


def use_run_settings(config: RunConfig) -> None:
    """A shown run's settings (and images) copied into the form, and the "New run" fold below that run
    opened on them."""
    use_settings(config)
    st.session_state[NEW_RUN_OPEN] = st.session_state[SETTINGS_OPEN] = True


def _launch_panel(fields: dict[str, Any]) -> None:
    """The preset, the estimate and the Launch button in one row, or what is wrong with the settings."""
    preset, time_column, memory_column, launch = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    with preset:
        preset_picker()
    try:
        config = run_config(fields)
        estimate = estimate_run(config)
    except ConfigError as exc:
        launch.button("Launch", type="primary", disabled=True, key="run_launch_disabled", width="stretch")
        st.error(config_problem(exc) + " (under Settings)")
        return
    time_column.metric("Estimated time", duration(estimate.seconds))
    # GB from 1 GiB on: "12,345 MB" would be cut short in a fifth of a projector's width.
    peak = estimate.peak_bytes
    memory_column.metric("Peak memory", f"{peak / 2**30:.1f} GB" if peak >= 2**30 else f"{peak / 2**20:.0f} MB")
    clicked = launch.button("Launch", type="primary", icon=":material/play_arrow:", key="run_launch", width="stretch")
    st.markdown(settings_summary(fields))
    how = "calibrated by measurement" if estimate.calibrated else "a rough figure, not measured on this hardware"
    st.caption(
        f"On {estimate.device.upper()} ({estimate.precision}), {how}; {current_weights()} weights. "
        "Runs take turns in one queue shared by everyone using this server."
    )
    every, steps = config.snapshot_every, config.steps
    if every and steps < every:
        st.caption(f"Snapshots every {every} steps: this run of {steps} records only its starting image (step 0).")
    elif every and steps % every:
        st.caption(f"Snapshots every {every} steps: the last is at step {steps - steps % every} of {steps}.")
    if clicked:
        try:
            job = submit_run(config, current_content(), current_style())
        except AdmissionError as exc:  # the fair queue's limits: why this visitor waits or is refused
            st.warning(str(exc), icon=":material/hourglass_top:")
            return
        except NSTError as exc:
            st.error(str(exc))
            return
        st.session_state[CURRENT_KEY] = job.id
        st.query_params.pop(RUN_PARAM, None)  # the page now shows the new run, not the linked one
        st.rerun()  # the run takes the form's place at the top; the form folds away below it


def new_run() -> None:
    """What the run optimises, then the preset, the estimate and Launch; the settings fold away below them
    (the launch row is drawn after them, as it needs their values, but shown above)."""
    st.markdown(
        f"Starting from **{current_content().label}** in the style of **{current_style().label}** (the sidebar's "
        "images), the optimiser changes the pixels of the generated image G to lower the total cost:"
    )
    st.latex(r"J(G) = \alpha\, J_{content}(C, G) + \beta \sum_l \lambda^{[l]} J^{[l]}_{style}(S, G)")
    with st.container(border=True):
        launch_row = st.container()
        fields = run_settings()
        with launch_row:
            _launch_panel(fields)
