"""Every page test runs on the seeded random weights unless it asks for others (``new_app(weights=...)``)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _random_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLE_LENS_WEIGHTS", "random")
