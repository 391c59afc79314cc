"""ui.pages: each page declared once, and nothing else in the app naming a page's file or URL path."""

from __future__ import annotations

from pathlib import Path

from ui.pages import PAGES

ROOT = Path(__file__).resolve().parents[2]


def test_every_page_file_is_declared_once_with_its_own_url_path() -> None:
    assert sorted(page.script for page in PAGES) == sorted(
        str(path.relative_to(ROOT)) for path in (ROOT / "app_pages").glob("*.py")
    )
    for field in ("title", "url_path", "icon"):
        values = [getattr(page, field) for page in PAGES]
        assert len(set(values)) == len(values), f"two pages share a {field}"


def test_the_url_paths_are_those_shared_links_use() -> None:
    assert [page.url_path for page in PAGES] == ["explorer", "compare", "stylize", "compare-runs", "walkthrough"]


def test_no_other_module_of_the_app_names_a_page_file() -> None:
    sources = [ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    naming = [path.name for path in sources if path.name != "pages.py" and "app_pages/" in path.read_text()]
    assert naming == []
