"""The web chat page in Debian's Chromium (Playwright): type a message, watch the reply stream in."""

from __future__ import annotations

import pytest

from doppel.modeling.loading import ModelSource, load_model
from doppel.serve.engines import HFEngine
from tests.browser import CHROMIUM_ARGS, chromium_or_skip
from tests.serve.helpers import running, state_for

# Counts every change of the newest reply's text, so a reply that arrives in one piece is caught.
WATCH = """() => {
  window.__updates = 0;
  new MutationObserver(() => {
    const replies = document.querySelectorAll('.msg.assistant .text');
    if (replies.length && replies[replies.length - 1].textContent) window.__updates += 1;
  }).observe(document.getElementById('log'), {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    model, tok = load_model(ModelSource("tiny", str(tiny_model_dir)))
    return HFEngine(model, tok, str(tiny_model_dir))


def test_web_page_streams_a_reply(engine):
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with running(state_for(engine, max_tokens=64, ab_url="http://127.0.0.1:8765/")) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(base + "/")
            assert page.locator("#model").text_content() == "mara"
            assert page.locator("#ab-link").get_attribute("href") == "http://127.0.0.1:8765/"
            page.evaluate(WATCH)
            page.fill("#input", "Tell me about the tides")
            page.click("#send")
            page.wait_for_selector(".msg.assistant[data-state=done]", timeout=60_000)
            assert page.locator(".msg.user .text").text_content() == "Tell me about the tides"
            reply = page.locator(".msg.assistant .text").text_content()
            assert reply.strip()
            assert page.evaluate("window.__updates") >= 2  # it arrived in pieces, not all at once
            # A second message carries the history: two replies on the page.
            page.fill("#input", "And the lamps?")
            page.click("#send")
            page.wait_for_selector(".msg.assistant >> nth=1", timeout=60_000)
            page.wait_for_function("document.querySelectorAll('.msg.assistant[data-state=done]').length == 2",
                                   timeout=60_000)
        finally:
            browser.close()


def test_web_page_reports_a_missing_key(engine):
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with running(state_for(engine, api_key="k3y")) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(base + "/")
            page.fill("#input", "hello")
            page.click("#send")
            page.wait_for_selector(".msg.assistant[data-state=error]", timeout=30_000)
            assert "401" in page.locator(".msg.assistant .text").text_content()
            page.fill("#key", "k3y")
            page.dispatch_event("#key", "change")
            page.fill("#input", "hello again")
            page.click("#send")
            page.wait_for_selector(".msg.assistant[data-state=done]", timeout=60_000)
        finally:
            browser.close()
