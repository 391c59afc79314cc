"""Values a page reads from its URL, checked: a malformed or out-of-range value gets a sentence and the
nearest valid value, never an exception (a link is typed, truncated or forged by anyone)."""

from __future__ import annotations

import math
from typing import Final

import streamlit as st

SHOWN_CHARS: Final = 24
"""How much of a bad value a sentence repeats (a link may carry megabytes)."""


def nearest_index(raw: str, count: int, default: int) -> tuple[int, str | None]:
    """The index ``raw`` names within 0 .. ``count`` - 1, and what was wrong with it (None when nothing):
    a number outside the range gives the nearest end, a fraction the nearest whole number, anything that
    is not a number ``default``."""
    try:
        number = float(raw.strip())
    except ValueError:
        number = math.nan
    if math.isnan(number):
        return default, "is not a number"
    nearest = round(min(max(number, 0.0), float(count - 1)))  # clamped first: 1e309 is inf, which round refuses
    if number < 0 or number > count - 1:
        return nearest, f"is outside 0 to {count - 1}"
    return nearest, "is not a whole number" if nearest != number else None


def shown(raw: str) -> str:
    return raw if len(raw) <= SHOWN_CHARS else f"{raw[:SHOWN_CHARS]}…"


def index_from_link(key: str, name: str, count: int, default: int, what: str) -> None:
    """Seed the widget ``key`` from the URL's ``?key=`` once (before the widget exists in the session),
    checked against 0 .. ``count`` - 1; a bad value is replaced by the nearest valid one, with a sentence."""
    raw = st.query_params.get(key)
    if key in st.session_state or raw is None:
        return
    value, problem = nearest_index(raw, count, default)
    st.session_state[key] = value
    if problem:
        st.info(f"The link's {name} = {shown(raw)} {problem} ({what}): showing {name} = {value}.")


def keep_in_link(key: str, value: object, default: object) -> None:
    """Write a widget's value into the URL (removed at its default), so that the address reproduces the view."""
    if value == default:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = str(value)


def note_unknown_choice(key: str, raw: str | None, name: str) -> None:
    """After a URL-bound choice was drawn: say so when the link named an option it does not have (Streamlit
    then shows the default). ``raw``: the URL's value, read before the widget existed in the session."""
    value = st.session_state.get(key)
    if raw is not None and raw != str(value):
        st.info(f"The link's {name} “{shown(raw)}” is not one of the choices here: showing {value}.")


def initial_choice(key: str) -> str | None:
    """The URL's value of a bound widget before the session has that widget (None after: the widget owns it)."""
    return None if key in st.session_state else st.query_params.get(key)
