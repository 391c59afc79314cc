"""Run: set up a style transfer, launch it on the shared queue, watch it converge, download the result."""

from __future__ import annotations

import streamlit as st

from ui.gallery import gallery_enabled, gallery_runs, my_runs, run_links
from ui.links import RUN_PARAM
from ui.new_run import NEW_RUN_OPEN, new_run, use_run_settings
from ui.run_saver import run_saver
from ui.run_view import session_run_view, stored_run_view
from ui.runs import CURRENT_KEY, current_run, show_session_runs
from ui.shown_runs import open_linked_run
from ui.state import runs
from ui.submit import adopt_active_runs, show_interrupted


def _shown_run() -> bool:
    """Draw the run the page shows (the link's, else this session's current one), if any; says whether one
    was drawn."""
    requested = st.query_params.get(RUN_PARAM)
    job = run_saver().job_of(requested, list(runs().values())) if requested is not None else None
    if requested is not None and job is None:
        if (shown := open_linked_run(requested)) is None:
            return False
        stored_run_view(shown, use_run_settings)
        return True
    if job is not None:
        st.session_state[CURRENT_KEY] = job.id
    if (job_id := current_run()) is None:
        return False
    session_run_view(runs()[job_id])
    return True


def main() -> None:
    st.title("Run a style transfer")
    adopt_active_runs(runs())
    show_interrupted()
    # A run shown takes the form's place at the top of the page (the projector's first screen); the form,
    # Launch included, folds away below it.
    if _shown_run():
        with st.expander(
            "New run: preset, settings and Launch", key=NEW_RUN_OPEN, on_change="rerun", icon=":material/add_circle:"
        ):
            new_run()
    else:
        new_run()
    show_session_runs()
    run_links("My runs", my_runs())
    if gallery_enabled():
        run_links("Class gallery: everyone's latest runs", gallery_runs())


main()
