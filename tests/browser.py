"""Finding Chromium for browser tests: skipped with a how-to when absent, a failure under CI.

`.ci/run` sets DOPPEL_REQUIRE_BROWSER=1 after installing Chromium, so a browser test that
would be skipped fails there instead.
"""

from __future__ import annotations

import os
import shutil

import pytest

HOW_TO = ("browser tests need Debian's Chromium and the playwright package: "
          "apt-get install -y chromium && .venv/bin/pip install playwright")

# Flags that keep headless Chromium off the network and quiet on a closed machine.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_or_skip() -> str:
    """The Chromium executable, or skip (fail when DOPPEL_REQUIRE_BROWSER=1)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("DOPPEL_REQUIRE_BROWSER") == "1":
            pytest.fail("DOPPEL_REQUIRE_BROWSER=1 but " + HOW_TO)
        pytest.skip(HOW_TO)
    return path
