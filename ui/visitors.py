"""Open tabs: how many sessions each visitor has open, the uploads they hold, and the queued runs dropped
when a visitor's last tab ends."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from .owner import owner_token
from .resources import get_executor

if TYPE_CHECKING:
    from nst_core import Executor

_log = logging.getLogger(__name__)


class Visitors:
    """How many sessions (tabs) each visitor has open. The owner token is one cookie shared by all the tabs
    of a browser, so a visitor's queued runs are dropped only when their LAST tab ends: closing one of two
    tabs, or reloading one (the new session arrives before the old one is released), keeps them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()
        self._uploads: list[set[str]] = []  # the uploads each open session holds

    def arrive(self, owner: str, uploads: set[str] | None = None) -> None:
        """A session of ``owner`` opened; ``uploads``: the set of upload ids it will hold (kept from pruning)."""
        with self._lock:
            self._open[owner] += 1
            if uploads is not None:
                self._uploads.append(uploads)

    def hold(self, uploads: set[str], image_id: str) -> None:
        """Add an upload to a session's set (under the lock: ``live_uploads`` may be reading it from a worker)."""
        with self._lock:
            uploads.add(image_id)

    def live_uploads(self) -> set[str]:
        with self._lock:
            return set().union(*self._uploads)

    def leave(self, owner: str, executor: Executor, uploads: set[str] | None = None) -> int:
        """One session of ``owner`` ended; when it was their last, cancel their queued runs (a running one
        finishes and is stored: its link works). Returns how many runs were dropped."""
        with self._lock:
            self._uploads = [held for held in self._uploads if held is not uploads]
            self._open[owner] -= 1
            if self._open[owner] > 0:
                return 0
            del self._open[owner]
        return executor.cancel_owner(owner, queued_only=True)

    def count(self, owner: str) -> int:
        with self._lock:
            return self._open[owner]


@st.cache_resource(show_spinner=False)
def visitors() -> Visitors:
    return Visitors()


@dataclass(frozen=True)
class _Visit:
    owner: str
    executor: Executor
    visitors: Visitors
    uploads: set[str]  # the stored uploads this session uses: pruning keeps them while it lives


def _end_visit(visit: _Visit) -> None:
    if dropped := visit.visitors.leave(visit.owner, visit.executor, visit.uploads):
        _log.info("a visitor left: %d queued run(s) dropped", dropped)


@st.cache_resource(scope="session", on_release=_end_visit, show_spinner=False)
def _visit(owner: str) -> _Visit:
    counter = visitors()
    uploads: set[str] = set()
    counter.arrive(owner, uploads)
    return _Visit(owner, get_executor(), counter, uploads)


def keep_visit() -> None:
    """Count this session as one of its visitor's open tabs until Streamlit releases it (the tab closed or
    lost its connection): a closed tab never holds the queue longer than its one running run."""
    _visit(owner_token())


def hold_upload(image_id: str) -> None:
    """Keep a stored upload from pruning while this session lives."""
    visit = _visit(owner_token())
    visit.visitors.hold(visit.uploads, image_id)
