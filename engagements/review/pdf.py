"""Printing a review pack's page to PDF with headless Chromium, driven through Playwright.

Chromium runs the page's own plotly.js, so the charts in the PDF are the same charts as on the page, kept as vector
graphics (Plotly draws SVG, and Chromium's print keeps SVG as vectors). The page is written to a temporary folder
and opened as a file, with its scripts and styles as file URLs of the static files, so printing needs no web server
and reaches nothing on the network.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils.html import escape

# The flags the browser tests launch the same Chromium with, too.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
A4_AT_96_DPI = (794, 1123)  # the page lays its charts out at the width they will print at
FOOTER = (
    '<div style="font-size:8px;width:100%;padding:0 12mm;color:#6c757d;display:flex">'
    '<span class="title"></span><span style="margin-left:auto">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></span></div>'
)


class PdfError(Exception):
    """The PDF could not be printed; the message says why and what to do."""


def chromium_executable() -> str:
    path = settings.CHROMIUM_PATH or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise PdfError(
            "Chromium is not installed on the worker, so the PDF cannot be printed: install it "
            "(apt-get install chromium) or set CHROMIUM_PATH to its executable."
        )
    return path


def static_uri(path: str) -> str:
    """A static file as a file:// URL, for the page Chromium opens from disk."""
    found = finders.find(path)
    if not found:
        raise PdfError(f"The static file {path} is missing; run `npm ci` (or collectstatic) on the worker.")
    return Path(found if isinstance(found, str) else found[0]).resolve().as_uri()


def print_pdf(html: str, *, title: str) -> bytes:
    """Open ``html`` in headless Chromium, wait until its charts are drawn, and print it to A4."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    timeout_ms = settings.REVIEW_PACK_PRINT_TIMEOUT * 1000
    executable = chromium_executable()
    with tempfile.TemporaryDirectory(prefix="review-pack-") as folder:
        page_path = Path(folder) / "pack.html"
        page_path.write_text(html, encoding="utf-8")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                try:
                    width, height = A4_AT_96_DPI
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(page_path.as_uri(), wait_until="load", timeout=timeout_ms)
                    page.wait_for_function("document.body.dataset.chartsReady === 'yes'", timeout=timeout_ms)
                    return page.pdf(
                        format="A4",
                        print_background=True,
                        display_header_footer=True,
                        header_template="<span></span>",
                        footer_template=FOOTER.replace('<span class="title"></span>', f"<span>{escape(title)}</span>"),
                        margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                    )
                finally:
                    browser.close()
        except PlaywrightError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PdfError(f"Chromium could not print the pack: {first_line}") from exc
