"""Crawling a real HTTP server on 127.0.0.1: an index page and its links, a redirect, a 404,
a slow page, non-HTML files, robots.txt, the User-Agent, the pause and the on-disk cache."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from doppel.config import CrawlSettings, IngestConfig, PersonaConfig, SourceConfig
from doppel.ingest import stage
from doppel.workspace import Workspace

ESSAY = """<!DOCTYPE html><html><head><title>{title}</title><meta name="date" content="{date}"></head><body>
<nav><a href="/index.html">Home</a> <a href="/about.html">About</a></nav>
<article><h1>{title}</h1><p>{body}</p><p><a href="/essays/deeper.html">Read more</a></p></article>
<footer>Copyright Jane Doe. All rights reserved. Subscribe to the newsletter.</footer></body></html>"""
ONE = "The lamp was lit at dusk, as it had been for ninety years, and nobody in the village asked why anymore."
TWO = "Fog is not the enemy of a lighthouse keeper; complacency is, and it creeps in on clear nights."
INDEX = """<!DOCTYPE html><html><head><title>Essays</title></head><body><h1>Essays</h1><ul>
<li><a href="/essays/one.html">One</a></li><li><a href="/essays/one.html#part-2">One, part two</a></li>
<li><a href="/essays/two">Two (moved)</a></li><li><a href="/missing.html">Gone</a></li>
<li><a href="/slow.html">Slow</a></li><li><a href="/notes.txt">Notes</a></li><li><a href="/photo.png">Photo</a></li>
<li><a href="/private/secret.html">Secret</a></li><li><a href="http://elsewhere.invalid/x.html">Elsewhere</a></li>
<li><a href="/essays/three.html" rel="nofollow">Three</a></li></ul></body></html>"""
NOTES = "Notes from the lamp room: the wick needs trimming every four hours, and the glass every morning."
PAGES = {
    "/robots.txt": ("text/plain", "User-agent: *\nDisallow: /private/\n"),
    "/index.html": ("text/html; charset=utf-8", INDEX),
    "/essays/one.html": ("text/html; charset=utf-8", ESSAY.format(title="The Lamp", date="2020-01-05", body=ONE)),
    "/essays/two.html": ("text/html; charset=utf-8", ESSAY.format(title="Fog", date="2021-02-06", body=TWO)),
    "/essays/deeper.html": ("text/html", ESSAY.format(title="Deeper", date="2021-02-07", body=TWO + " " + ONE)),
    "/notes.txt": ("text/plain; charset=utf-8", NOTES),
    "/photo.png": ("image/png", b"\x89PNG\r\n\x1a\n" + bytes(64)),
    "/private/secret.html": ("text/html", ESSAY.format(title="Secret", date="2021", body=ONE)),
}


class Handler(BaseHTTPRequestHandler):
    log: list = []

    def do_GET(self):  # noqa: N802 - the http.server API
        self.log.append((self.path, self.headers.get("User-Agent"), time.monotonic()))
        if self.path == "/essays/two":
            self.send_response(301)
            self.send_header("Location", "/essays/two.html")
            self.end_headers()
            return
        if self.path == "/slow.html":
            time.sleep(1.5)  # the client has given up by now: nothing to answer
            return
        if self.path not in PAGES:
            self.send_error(404)
            return
        ctype, body = PAGES[self.path]
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.log = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", Handler.log
    httpd.shutdown()
    httpd.server_close()


def crawl(base, ws, **crawl):
    settings = dict(depth=1, max_pages=20, delay=0.0, timeout=0.5, user_agent="DoppelTest/1.0")
    cfg = IngestConfig(crawl=CrawlSettings(**{**settings, **crawl}), min_words=5)
    stage.run([SourceConfig(url=f"{base}/index.html")], [], PersonaConfig(name="Jane Doe"), ws, cfg)
    return json.loads((ws.corpus / "ingest_report.json").read_text())


def test_crawl_index_and_links_then_rerun_from_cache(server, tmp_path):
    base, log = server
    ws = Workspace(tmp_path / "run")
    report = crawl(base, ws)
    got = {f["path"].replace(base, ""): (f["status"], f["reason"]) for f in report["files"]}
    assert got == {
        "/index.html": ("rejected", "too_short"), "/essays/one.html": ("kept", None),
        "/essays/two.html": ("kept", None), "/missing.html": ("rejected", "http_404"),
        "/slow.html": ("rejected", "fetch_timeout"), "/notes.txt": ("kept", None),
        "/photo.png": ("rejected", "unsupported_format"), "/private/secret.html": ("rejected", "robots_disallowed")}
    docs = {d["source"].replace(base, ""): d for d in map(json.loads, (ws.corpus / "documents.jsonl").read_text().splitlines())}
    assert (docs["/essays/one.html"]["title"], docs["/essays/one.html"]["date"]) == ("The Lamp", "2020-01-05")
    assert docs["/essays/one.html"]["text"] == ONE  # navigation, footer and link line gone
    assert docs["/essays/two.html"]["text"].startswith(TWO) and docs["/notes.txt"]["text"] == NOTES
    paths = [p for p, _, _ in log]
    assert "/essays/deeper.html" not in paths and "/essays/three.html" not in paths  # depth 1, nofollow
    assert "/private/secret.html" not in paths and paths.count("/essays/one.html") == 1
    assert {ua for _, ua, _ in log} == {"DoppelTest/1.0"}
    assert report["crawl"]["requests"] == len(paths) - 1  # the redirect is followed inside one fetch

    log.clear()
    again = crawl(base, Workspace(tmp_path / "run"))
    assert [p for p, _, _ in log] == ["/slow.html"]  # only the page that failed for a passing reason
    assert {f["path"]: f["status"] for f in again["files"]} == {f["path"]: f["status"] for f in report["files"]}


def test_depth_zero_and_pause_between_requests(server, tmp_path):
    base, log = server
    report = crawl(base, Workspace(tmp_path / "run"), depth=0, delay=0.3, respect_robots=True)
    assert [f["path"].replace(base, "") for f in report["files"]] == ["/index.html"]
    times = [t for _, _, t in log]
    assert [p for p, _, _ in log] == ["/robots.txt", "/index.html"] and times[1] - times[0] >= 0.25


def test_youtube_url_without_yt_dlp_is_rejected_with_the_fix(tmp_path):
    import importlib.util

    if importlib.util.find_spec("yt_dlp") is not None:
        pytest.skip("yt-dlp is installed; this checks the message shown without it")
    ws = Workspace(tmp_path / "run")
    stage.run([SourceConfig(url="https://www.youtube.com/@somechannel/videos")], [], PersonaConfig(name="Jane"), ws)
    [entry] = json.loads((ws.corpus / "ingest_report.json").read_text())["files"]
    assert (entry["status"], entry["reason"]) == ("rejected", "yt_dlp_missing") and "pip install yt-dlp" in entry["detail"]
