"""Headless Chromium against pytest-django's live server.

The browser is Debian's `chromium` (see `make e2e-deps`), driven by Playwright through
`executable_path`: nothing is downloaded. Without it these tests skip with the reason given by
the root conftest's `browser` marker, and `.ci/run` (REQUIRE_SERVICE_TESTS=1) fails on that skip.

With E2E_SCREENSHOTS_DIR set (`make screenshots`) every step is saved as a PNG there.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import CHROMIUM_PATH

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_TIMEOUT_MS = 15_000


@pytest.fixture(scope="package")
def chromium():
    """One browser for the e2e package; its event loop (and the flag below) end with it."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, so Django would refuse
    # the tests' ORM calls; they are plain synchronous calls between browser steps.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    browser_page = context.new_page()
    yield browser_page
    context.close()


class Screenshots:
    """Saves a full-page PNG per step when E2E_SCREENSHOTS_DIR is set; does nothing otherwise."""

    def __init__(self, directory: str | None, test_name: str) -> None:
        self.directory = Path(directory) if directory else None
        self.prefix = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")
        self.step = 0

    def __call__(self, page, name: str) -> None:
        if self.directory is None:
            return
        self.step += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(self.directory / f"{self.prefix}-{self.step:02d}-{name}.png"), full_page=True
        )


@pytest.fixture(scope="session")
def screenshot_fonts():
    """Screenshots show names as a customer's browser does: Debian's chromium brings no CJK font,
    and without one "王小明" is three boxes. `make e2e-deps` installs Debian's fonts-noto-cjk."""
    found = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    if not found.stdout.strip():
        pytest.fail("No Chinese font for Chromium: run `make e2e-deps` (fonts-noto-cjk).")


@pytest.fixture
def snap(request):
    directory = os.environ.get("E2E_SCREENSHOTS_DIR")
    if directory:
        request.getfixturevalue("screenshot_fonts")
    return Screenshots(directory, request.node.name)
