"""Stored runs listed as links: this visitor's own ("My runs") and, where the server enables it, everyone's
latest (the class gallery)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Final

import streamlit as st

from .links import RUN_PARAM
from .owner import owner_token
from .pages import RUN
from .run_saver import get_store

if TYPE_CHECKING:
    from nst_core import RunEntry

GALLERY_ENV: Final = "STYLE_LENS_GALLERY"


def gallery_enabled() -> bool:
    return os.environ.get(GALLERY_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def my_runs(limit: int = 20) -> list[RunEntry]:
    return get_store().list(owner=owner_token(), limit=limit)


def gallery_runs(limit: int = 12) -> list[RunEntry]:
    return get_store().list(limit=limit)


def run_links(title: str, entries: list[RunEntry]) -> None:
    """``entries`` under ``title``, each a link that opens it on the Run page; nothing when there are none."""
    if not entries:
        return
    st.subheader(title)
    for entry in entries:
        when = time.strftime("%d %b %H:%M", time.localtime(entry.created))
        label = f"{entry.title or 'Run'} · {entry.width}×{entry.height} px, {entry.steps} steps · {when}"
        st.page_link(RUN.script, label=label, icon=":material/history:", query_params={RUN_PARAM: entry.id})
