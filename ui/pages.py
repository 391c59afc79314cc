"""The app's pages, each declared once: ``app.py`` builds its navigation from ``PAGES`` and every link
between pages names one of these records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Page:
    title: str
    url_path: str  # what the address bar shows; links already shared use these, so they never change
    icon: str
    script: str  # relative to the repository root: what ``st.page_link`` and ``AppTest.switch_page`` take


GRAM_EXPLORER: Final = Page("Gram explorer", "explorer", ":material/grid_on:", "app_pages/gram_explorer.py")
STYLE_VS_GENERATED: Final = Page(
    "Style vs generated", "compare", ":material/compare:", "app_pages/style_vs_generated.py"
)
RUN: Final = Page("Run", "stylize", ":material/play_circle:", "app_pages/run.py")
COMPARE_RUNS: Final = Page("Compare runs", "compare-runs", ":material/difference:", "app_pages/compare_runs.py")
LESSON: Final = Page("Lesson", "walkthrough", ":material/school:", "app_pages/lesson.py")

PAGES: Final = (GRAM_EXPLORER, STYLE_VS_GENERATED, RUN, COMPARE_RUNS, LESSON)
"""In the navigation's order; the root URL opens the first."""
