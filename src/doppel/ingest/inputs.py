"""What a source names, as inputs to read: the files of a path (folders recursively, hidden
files skipped), the pages of a crawl, or the caption files of a YouTube URL. An input that
cannot even be fetched or opened comes back already rejected, so it is still reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from doppel.config import IngestConfig, SourceConfig
from doppel.ingest.base import Input, Rejected


@dataclass
class Item:
    name: str
    input: Input | None = None
    rejected: Rejected | None = None
    overrides: dict = field(default_factory=dict)  # title/date known from elsewhere (YouTube)


def source_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file()
                      and not any(part.startswith(".") for part in p.relative_to(path).parts))
    return [path]


class Inputs:
    """Enumerates every source's inputs; one crawler (robots rules, pauses, cache) for all."""

    def __init__(self, settings: IngestConfig, cache_dir: Path):
        self.settings = settings
        self.cache_dir = Path(cache_dir)
        self._crawler = None

    @property
    def crawler(self):
        if self._crawler is None:
            from doppel.ingest.crawl import Crawler

            self._crawler = Crawler(self.settings.crawl, self.cache_dir / "http")
        return self._crawler

    def stats(self) -> dict:
        c = self._crawler
        return {"requests": c.network, "from_cache": c.cached} if c is not None else {}

    def close(self) -> None:
        if self._crawler is not None:
            self._crawler.close()

    def items(self, src: SourceConfig) -> Iterator[Item]:
        if src.path is not None:
            for path in source_files(src.path):
                try:
                    yield Item(str(path), Input(name=str(path), data=path.read_bytes()))
                except OSError as err:
                    yield Item(str(path), rejected=Rejected("unreadable", err.strerror or str(err)))
            return
        from doppel.ingest.youtube import is_youtube, subtitle_inputs

        url = src.url or ""
        crawl = self.settings.crawl
        max_pages = src.max_pages or crawl.max_pages
        if src.kind == "youtube" or is_youtube(url):
            try:
                for inp, info in subtitle_inputs(url, crawl, self.cache_dir, max_pages):
                    yield Item(inp.name, inp, overrides={k: v for k, v in info.items() if v})
            except Rejected as rej:
                yield Item(url, rejected=rej)
            return
        depth = crawl.depth if src.depth is None else src.depth
        for page in self.crawler.crawl(url, depth, max_pages):
            if page.error:
                yield Item(page.url, rejected=Rejected(page.error, page.detail))
            else:
                yield Item(page.final_url, Input(name=page.final_url, data=page.data,
                                                 content_type=page.content_type, charset=page.charset))
