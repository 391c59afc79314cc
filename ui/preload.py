"""Imported first by ``app.py``: the whole core and every ``ui`` module, by one session's thread at a time.

Streamlit runs each session's script in a thread of its own, so the first visitors of a fresh server import
the app concurrently. A thread that imports a submodule (``nst_core.serve.jobs``) while another is still
running the package's ``__init__`` skips the package's lock, and two threads then take module locks in
opposite orders; Python's deadlock detection breaks the tie by handing one of them a half-initialised module
("cannot import name 'Executor' from partially initialized module 'nst_core.serve'"), and that visitor's page
shows an ImportError. While one thread runs this module, every other waits on its lock before importing
anything, so the first import of each module happens in one thread.
"""

from __future__ import annotations

import importlib
import pkgutil

import nst_core
import ui

for _package in (nst_core, ui):
    for _module in pkgutil.walk_packages(_package.__path__, prefix=f"{_package.__name__}."):
        if not _module.name.endswith(".__main__"):  # ``python -m nst_core``: running it starts the CLI
            importlib.import_module(_module.name)
