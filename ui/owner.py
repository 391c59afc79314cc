"""Who a visitor is: a random token (``new_id``, 128 bits) kept in the ``style_lens_owner`` cookie; the
runs a visitor launches are stored under it.

Streamlit reads cookies (``st.context.cookies``) but cannot set one, so the frame sets it with a line of
JavaScript. A cookie survives reloads and new tabs of the same browser and is never part of a URL, so a
shared link carries only ``?run=<id>`` and cannot make its reader the owner. The trade-off: a visitor who
clears cookies or switches browser loses the list of "my runs" (every run still opens by its link).
"""

from __future__ import annotations

from typing import Final

import streamlit as st

from nst_core.serve.store import is_valid_id, new_id

OWNER_COOKIE: Final = "style_lens_owner"
OWNER_KEY: Final = "_owner"


def owner_token() -> str:
    """This visitor's token: the cookie's, else a new one (which ``remember_owner`` writes into the cookie)."""
    if (token := st.session_state.get(OWNER_KEY)) is None:
        cookie = st.context.cookies.get(OWNER_COOKIE)
        token = cookie if is_valid_id(cookie) else new_id()
        st.session_state[OWNER_KEY] = token
    return token


def remember_owner() -> None:
    """Write the visitor's token into its cookie, in every run of a session whose browser did not send it.
    The frame draws it before anything a visitor can click, so the browser has set the cookie before any
    Launch reaches the server: a run is never stored under a token a reload would forget. (Once per session
    was not enough: a run interrupted by the visitor's first click could drop the script unsent.)"""
    token = owner_token()
    if st.context.cookies.get(OWNER_COOKIE) == token:
        return
    st.html(
        f"<script>document.cookie = '{OWNER_COOKIE}={token}; path=/; max-age=31536000; SameSite=Lax';</script>",
        unsafe_allow_javascript=True,
    )
