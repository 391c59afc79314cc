"""Links to a stored run: the query parameters that name it and the share link the pages show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import streamlit as st

if TYPE_CHECKING:
    from .pages import Page

RUN_PARAM: Final = "run"
"""Query parameter naming a stored run (both the Run and the Style vs generated page read it)."""
UPLOAD_PREFIX: Final = "upload:"
"""A link's ``content=`` / ``style=`` value for a stored upload: ``upload:<image id>``."""


def copy_link(run_id: str | None, page: Page, unstored: str | None = None) -> None:
    """The run's share link, in a code block with a copy button (read-only for whoever opens it);
    ``unstored``: why a run has none (the store's sentence)."""
    if run_id is None:
        if unstored:
            st.warning(f"{unstored} This run has no link.")
        else:
            st.caption("This run could not be stored, so it has no link.")
        return
    st.caption("**Copy link**: anyone who opens it sees this run, read-only.")
    # Built from the browser's own address, so it is right behind a proxy too; relative to ``page`` when unknown.
    base = st.context.url or f"/{page.url_path}"
    st.code(f"{base.rstrip('/')}?{RUN_PARAM}={run_id}", language=None)
