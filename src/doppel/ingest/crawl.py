"""A polite crawler for `sources: - url:` (httpx): one page, or an index page and the pages it
links to, within the same site, depth and page limits; robots.txt respected (and its
Crawl-delay); a pause between requests to one host; a User-Agent; an on-disk cache, so a
re-run fetches nothing it already has.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from doppel.config import CrawlSettings
from doppel.workspace import atomic_write_bytes, atomic_write_json

PERMANENT = {404, 410}  # failures worth remembering; others are retried on the next run


@dataclass
class Fetched:
    url: str
    final_url: str
    status: int | None = None
    content_type: str | None = None
    charset: str | None = None
    data: bytes = b""
    error: str | None = None  # a rejection reason
    detail: str = ""
    from_cache: bool = False


def site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _content_type(header: str | None) -> tuple[str | None, str | None]:
    if not header:
        return None, None
    kind, _, params = header.partition(";")
    charset = None
    for part in params.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset":
            charset = value.strip().strip('"') or None
    return kind.strip().lower() or None, charset


def links(page: Fetched) -> list[str]:
    """Absolute http(s) links of an HTML page, fragments dropped, rel=nofollow skipped."""
    import lxml.html

    try:
        root = lxml.html.fromstring(page.data)
    except (ValueError, TypeError, lxml.etree.ParserError):
        return []
    out = []
    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or "nofollow" in (a.get("rel") or "").lower():
            continue
        url = urldefrag(urljoin(page.final_url, href))[0]
        if urlsplit(url).scheme in ("http", "https"):
            out.append(url)
    return out


class Crawler:
    def __init__(self, settings: CrawlSettings, cache_dir: Path):
        import httpx

        self.cfg = settings
        self.cache_dir = Path(cache_dir)
        self.client = httpx.Client(headers={"User-Agent": settings.user_agent}, follow_redirects=True,
                                   timeout=settings.timeout, max_redirects=5)
        self.robots: dict[str, RobotFileParser | None] = {}
        self.last_request: dict[str, float] = {}
        self.network = 0  # requests actually sent
        self.cached = 0

    def close(self) -> None:
        self.client.close()

    # -- cache -----------------------------------------------------------------------------
    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        return self.cache_dir / f"{key}.json", self.cache_dir / f"{key}.body"

    def _cached(self, url: str) -> Fetched | None:
        meta_path, body_path = self._paths(url)
        if not (meta_path.exists() and body_path.exists()):
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        self.cached += 1
        return Fetched(url, meta["final_url"], meta.get("status"), meta.get("content_type"),
                       meta.get("charset"), body_path.read_bytes(), meta.get("error"), meta.get("detail", ""),
                       from_cache=True)

    def _store(self, page: Fetched) -> None:
        meta_path, body_path = self._paths(page.url)
        atomic_write_bytes(body_path, page.data)
        atomic_write_json(meta_path, {"final_url": page.final_url, "status": page.status,
                                      "content_type": page.content_type, "charset": page.charset,
                                      "error": page.error, "detail": page.detail,
                                      "fetched": time.strftime("%Y-%m-%dT%H:%M:%S")})

    # -- network ---------------------------------------------------------------------------
    def _wait(self, host: str, delay: float) -> None:
        last = self.last_request.get(host)
        if last is not None and time.monotonic() - last < delay:
            time.sleep(delay - (time.monotonic() - last))
        self.last_request[host] = time.monotonic()

    def fetch(self, url: str, delay: float | None = None) -> Fetched:
        import httpx

        cached = self._cached(url)
        if cached is not None:
            return cached
        self._wait(urlsplit(url).netloc, self.cfg.delay if delay is None else delay)
        self.network += 1
        page = Fetched(url, url)
        try:
            with self.client.stream("GET", url) as resp:
                page.final_url, page.status = str(resp.url), resp.status_code
                page.content_type, page.charset = _content_type(resp.headers.get("content-type"))
                body, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > self.cfg.max_bytes:
                        page.error, page.detail = "too_large", f"over {self.cfg.max_bytes} bytes"
                        break
                    body.append(chunk)
                page.data = b"".join(body) if page.error is None else b""
        except httpx.TimeoutException:
            return Fetched(url, url, error="fetch_timeout", detail=f"no answer within {self.cfg.timeout} s")
        except httpx.TooManyRedirects:
            page.error, page.detail = "too_many_redirects", "more than 5 redirects"
        except (httpx.HTTPError, ValueError) as err:
            return Fetched(url, url, error="fetch_failed", detail=f"{type(err).__name__}: {str(err)[:160]}")
        if page.error is None and page.status is not None and page.status >= 400:
            page.error, page.detail, page.data = f"http_{page.status}", f"the server answered {page.status}", b""
        if page.error is None or page.status in PERMANENT:
            self._store(page)
        return page

    def allowed(self, url: str) -> tuple[bool, float]:
        """(may we fetch it, the pause to keep between requests to its host)."""
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self.robots:
            rules = None
            if self.cfg.respect_robots:
                page = self.fetch(f"{root}/robots.txt")
                rules = RobotFileParser()
                if page.status in (401, 403):
                    rules.disallow_all = True
                elif page.error is None:
                    rules.parse(page.data.decode("utf-8", "replace").splitlines())
                else:
                    rules.allow_all = True
            self.robots[root] = rules
        rules = self.robots[root]
        if rules is None:
            return True, self.cfg.delay
        delay = rules.crawl_delay(self.cfg.user_agent)
        return rules.can_fetch(self.cfg.user_agent, url), max(self.cfg.delay, float(delay or 0))

    def crawl(self, start: str, depth: int, max_pages: int) -> Iterator[Fetched]:
        """The start page and, breadth first, the pages it links to (up to `depth` links away)."""
        queue = deque([(urldefrag(start)[0], 0)])
        seen = {queue[0][0]}
        count = 0
        while queue and count < max_pages:
            url, level = queue.popleft()
            ok, delay = self.allowed(url)
            if not ok:
                yield Fetched(url, url, error="robots_disallowed", detail="robots.txt disallows this page")
                continue
            page = self.fetch(url, delay)
            count += 1
            if self.cfg.same_site and page.error is None and site(page.final_url) != site(start):
                page.error, page.detail = "redirected_off_site", f"redirected to {page.final_url}"
            yield page
            if page.error is None and level < depth and page.content_type in (None, "text/html",
                                                                               "application/xhtml+xml"):
                for link in links(page):
                    if link not in seen and (not self.cfg.same_site or site(link) == site(start)):
                        seen.add(link)
                        queue.append((link, level + 1))
