"""PDF: the HTML report printed by headless Chromium (Debian package ``chromium``).

No PDF library is a dependency; Chromium is already what the tests use to look at the status
page, and it lays out Japanese text and the SVG timeline as the HTML does (Japanese needs a
font such as ``fonts-ipafont-gothic``). The page is written to a private temporary
directory and loaded from there; its Content-Security-Policy lets it run no script and fetch nothing
(templates/report.html). Chromium's own scripting stays on: headless printing needs it.
A missing or failing Chromium is a :class:`MonitorError` that says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from monitor.core.errors import MonitorError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 120.0


def find_browser() -> str | None:
    """The first of :data:`BROWSERS` on ``PATH``, or ``SLAWATCH_CHROMIUM`` if set."""
    override = os.environ.get("SLAWATCH_CHROMIUM")
    if override:
        return shutil.which(override)
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def print_pdf(html: str, out: Path, *, browser: str | None = None) -> None:
    """Write ``html`` as a PDF to ``out`` (replaced only once the PDF is complete)."""
    exe = browser or find_browser()
    if exe is None:
        raise MonitorError(
            "--format pdf needs headless Chromium: install the Debian package chromium "
            "(and fonts-ipafont-gothic for Japanese), or use --format html"
        )
    with tempfile.TemporaryDirectory(prefix="slawatch-report-") as tmp:
        page, pdf = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        args = [
            exe,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        if os.geteuid() == 0:  # Chromium refuses to run as root with its sandbox
            args.insert(2, "--no-sandbox")
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise MonitorError(f"{exe} did not print the PDF within {TIMEOUT_S:.0f} s") from None
        except OSError as exc:
            raise MonitorError(f"cannot run {exe}: {exc.strerror}") from None
        if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
            tail = done.stderr.strip().splitlines()[-3:]
            raise MonitorError(
                f"{exe} failed to print the PDF (exit {done.returncode}): {' / '.join(tail)}"
            )
        try:
            shutil.move(pdf, out)
        except OSError as exc:
            raise MonitorError(f"{out}: cannot write: {exc.strerror}") from None
