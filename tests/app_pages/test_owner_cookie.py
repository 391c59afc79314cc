"""The owner cookie is settled before a visitor can launch: the frame writes it as the sidebar's first element,
before anything clickable, in every run of a session whose browser has not sent it back (a run interrupted by
the visitor's first click must not drop it), so the browser has it before any Launch reaches the server."""

from __future__ import annotations

import pytest

from tests.helpers import assert_no_exception, new_app

OWNER = "an-owner-token-0000000000"


def test_the_cookie_script_comes_first_in_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    at = new_app(monkeypatch)
    at.session_state["_owner"] = OWNER
    for _ in range(3):
        at.run()
        assert_no_exception(at)
        first = next(iter(at.sidebar.children.values())).proto.body  # the sidebar's first element
        assert first.startswith(f"<script>document.cookie = 'style_lens_owner={OWNER}; path=/;"), first
