"""Style Lens: Gatys style transfer made visible. The entry point: page navigation and the shared frame.

Start it with ``streamlit run app.py`` (see README). Every page shares the sidebar drawn by
``ui.sidebar.render_frame``.
"""

from __future__ import annotations

import streamlit as st

from nst_core.errors import NSTError
from ui.sidebar import render_frame

# (file, title, icon, URL path); the first is the home page. The URL paths differ from the file names on
# purpose: when a pages/ folder exists, AppTest re-runs a page whose URL path equals its file name on its
# own, without this frame.
PAGES = [
    ("pages/gram_explorer.py", "Gram explorer", ":material/grid_on:", "explorer"),
    ("pages/style_vs_generated.py", "Style vs generated", ":material/compare:", "compare"),
    ("pages/run.py", "Run", ":material/play_circle:", "stylize"),
    ("pages/lesson.py", "Lesson", ":material/school:", "walkthrough"),
]

st.set_page_config(page_title="Style Lens", page_icon=":material/texture:", layout="wide")
page = st.navigation(
    [st.Page(path, title=title, icon=icon, url_path=url) for path, title, icon, url in PAGES]
)
try:
    render_frame()
    page.run()
except NSTError as exc:  # the core's typed errors carry a sentence for the user
    st.error(str(exc))
