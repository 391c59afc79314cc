"""Text written for ``st.latex``: numbers as 1.23 \\times 10^{-5} rather than 1.23e-05, names with their
underscores escaped."""

from __future__ import annotations

import math


def number(value: float, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits, in LaTeX."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    exponent = math.floor(math.log10(abs(value)))
    if -3 <= exponent < digits + 1:
        return f"{value:.{digits}g}"
    mantissa = value / 10**exponent
    return f"{mantissa:.{digits}g} \\times 10^{{{exponent}}}"


def escaped(text: str) -> str:
    """A name such as a layer's (``relu2_1``) for ``\\text{…}`` in ``st.latex``: its underscores escaped."""
    return text.replace("_", "\\_")
