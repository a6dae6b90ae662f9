"""The main text of an HTML page or fragment, with the name of the extractor that found it.

trafilatura (precision mode) reads whole pages best. A saved article fragment (no `<html>`
or `<body>`, e.g. a readability "expected" output) is first wrapped in a body so trafilatura
sees a page; when it still finds nothing, trafilatura's recall mode is tried, and last the
fragment's own text, block by block, with scripts, navigation, headers, footers and forms
removed (only for fragments: a whole page without article text is navigation, or built
by JavaScript, and is rejected). The extractor used is reported: 'trafilatura', 'trafilatura_recall' or 'block_text'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doppel.ingest.base import Rejected

HAS_PAGE = re.compile(r"<(?:html|body)[\s>]", re.IGNORECASE)
FRAGMENT_START = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:div|article|section|main|p|h[1-6]|blockquote|ul|ol|table|span)"
                            r"[\s>]", re.IGNORECASE | re.DOTALL)
BOILERPLATE = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe",
               "svg", "button", "select")
BLOCKS = {"p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre",
          "td", "th", "tr", "dd", "dt", "figcaption", "br", "hr", "table", "ul", "ol", "dl"}


@dataclass
class Extracted:
    text: str
    extractor: str
    title: str | None = None
    date: object = None
    author: str | None = None
    url: str | None = None


def is_fragment(text: str) -> bool:
    """HTML that starts with a block element and has no <html>/<body>: a saved fragment."""
    head = text[:4096]
    return bool(FRAGMENT_START.match(head)) and not HAS_PAGE.search(head)


def _trafilatura(html: str, url: str | None, recall: bool):
    import trafilatura

    return trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                       include_tables=False, favor_precision=not recall, favor_recall=recall)


def block_text(html: str) -> str:
    """The visible text of a fragment, one line per block element, boilerplate removed."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    for el in list(root.iter(*BOILERPLATE)):
        if el.getparent() is not None:
            el.drop_tree()
    for el in root.iter(etree.Element):
        if isinstance(el.tag, str) and el.tag.lower() in BLOCKS:
            el.tail = "\n" + (el.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def extract(html: str, url: str | None = None) -> Extracted:
    """The main text by the first extractor that finds some; raises Rejected('bad_html')."""
    fragment = not HAS_PAGE.search(html[:100_000])
    page = f"<html><body>{html}</body></html>" if fragment else html
    found = None
    for extractor, recall in (("trafilatura", False), ("trafilatura_recall", True)):
        try:
            found = _trafilatura(page, url, recall)
        except Exception as err:  # lxml and the date parser raise many types on odd markup
            raise Rejected("bad_html", f"{type(err).__name__}: {str(err)[:160]}") from None
        text = (getattr(found, "text", None) or "").strip() if found is not None else ""
        if text:
            return Extracted(text, extractor, getattr(found, "title", None), getattr(found, "date", None),
                             getattr(found, "author", None), getattr(found, "url", None))
    if not fragment:  # a whole page with no article text: navigation only, or built by JavaScript
        return Extracted("", "trafilatura_recall")
    return Extracted(block_text(html), "block_text")
