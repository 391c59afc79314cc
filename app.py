"""Style Lens: Gatys style transfer made visible. The entry point: page navigation and the shared frame.

Start it with ``streamlit run app.py`` (see README). Every page shares the sidebar drawn by
``ui.sidebar.render_frame``.
"""

from __future__ import annotations

import streamlit as st

import ui.preload  # noqa: F401  (first: the first visitors' sessions import the app one at a time)
from nst_core.errors import NSTError
from ui.pages import PAGES
from ui.sidebar import render_frame


def _home() -> None:
    """The root URL opens the first page, the link's query parameters with it (``?layer=…&k=…``)."""
    params = [(name, value) for name in st.query_params for value in st.query_params.get_all(name)]
    st.switch_page(pages[0], query_params=params)


st.set_page_config(page_title="Style Lens", page_icon=":material/texture:", layout="wide")
pages = [st.Page(p.script, title=p.title, icon=p.icon, url_path=p.url_path) for p in PAGES]
# Streamlit serves its default page only at the root, so a default explorer would answer "/explorer" with
# "Page not found": a hidden default page forwards the root instead, and every page keeps its own path.
home = st.Page(_home, title="Style Lens", url_path="home", default=True, visibility="hidden")
page = st.navigation([home, *pages])
try:
    if page is not home:  # the forwarding page draws nothing, not even the frame
        render_frame()
    page.run()
except NSTError as exc:  # the core's typed errors carry a sentence for the user
    st.error(str(exc))
