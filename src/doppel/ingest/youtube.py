"""YouTube videos, playlists and channels through yt-dlp's subtitles (when yt-dlp is installed).

Only subtitles are downloaded (manual ones, else automatic), as json3 or WebVTT, into the
run's cache; the json3 and VTT readers then read them like any caption file. yt-dlp needs the
network, so this path is not exercised by the offline tests; its output formats are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from doppel.config import CrawlSettings
from doppel.ingest.base import Input, Rejected

HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be"}


def is_youtube(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() in HOSTS


def _entries(info: dict) -> Iterator[dict]:
    if info.get("entries") is not None:
        for entry in info["entries"]:
            if entry:
                yield from _entries(entry)
    else:
        yield info


def subtitle_inputs(url: str, settings: CrawlSettings, cache_dir: Path,
                    max_videos: int) -> Iterator[tuple[Input, dict]]:
    """(caption file as an Input, video info) for each video of a URL; raises Rejected."""
    try:
        import yt_dlp
    except ImportError:
        raise Rejected("yt_dlp_missing", "install yt-dlp (pip install yt-dlp) to read YouTube videos, "
                                         "playlists and channels") from None
    out = Path(cache_dir) / "youtube"
    opts = {
        "skip_download": True, "writesubtitles": True, "writeautomaticsub": True,
        "subtitleslangs": settings.languages, "subtitlesformat": "json3/vtt/best",
        "outtmpl": str(out / "%(id)s.%(ext)s"), "ignoreerrors": True, "quiet": True, "no_warnings": True,
        "playlistend": max_videos, "sleep_interval_requests": settings.delay,
        "http_headers": {"User-Agent": settings.user_agent},
    }
    with yt_dlp.YoutubeDL(opts) as ydl:
        info = ydl.extract_info(url, download=True)
    if not info:
        raise Rejected("youtube_failed", f"yt-dlp found no video at {url}")
    for entry in _entries(info):
        subs = entry.get("requested_subtitles") or {}
        for sub in subs.values():
            path = Path(sub.get("filepath") or "")
            if path.is_file():
                name = f"https://www.youtube.com/watch?v={entry.get('id')}#{path.name}"
                yield Input(name=name, data=path.read_bytes()), {
                    "title": entry.get("title"), "date": _upload_date(entry.get("upload_date"))}


def _upload_date(value: str | None) -> str | None:
    if value and len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return None
