"""A path is a path: '?', '#', quotes, ',', '=', spaces and non-ASCII in file names are read
like any other name; only a name with a URL scheme has a query or fragment."""

import json

import pytest

from doppel.config import SourceConfig
from doppel.ingest import stage
from doppel.ingest.base import Input
from doppel.ingest.readers import read_file
from doppel.workspace import Workspace

ESSAY = "---\ntitle: Is It Worth Being Wise?\ndate: 2007-02-01\n---\n\nThe tide keeps no calendar, and neither do I.\n"
NAMES = {
    "question mark": "Is_It_Worth_Being_Wise?.md",
    "hash": "Notes #3.md",
    "double quote": 'He said "mend it".md',
    "single quote": "Don't_Panic.md",
    "comma": "Tides, Fog and Rope.md",
    "equals": "a=b.md",
    "spaces": "on the   tides.md",
    "non-ASCII": "Ærø — 潮の記録.md",
}


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_a_file_name_with_special_characters_is_read_by_its_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text(ESSAY, encoding="utf-8")
    [doc] = read_file(path)
    assert doc.kind == "markdown" and doc.source == str(path)
    assert (doc.title, doc.date, doc.text) == ("Is It Worth Being Wise?", "2007-02-01",
                                               "The tide keeps no calendar, and neither do I.")


def test_every_special_name_is_kept_by_the_stage(tmp_path):
    src = tmp_path / "essays"
    src.mkdir()
    for i, name in enumerate(NAMES.values()):
        (src / name).write_text(ESSAY.replace("calendar", f"calendar number {i} of many, truly"), encoding="utf-8")
    ws = Workspace(tmp_path / "run").create()
    stage.run([SourceConfig(path=src)], [], None, ws)
    report = json.loads((ws.corpus / "ingest_report.json").read_text())
    status = {f["path"].rsplit("/", 1)[-1]: (f["status"], f.get("reader")) for f in report["files"]}
    assert status == {name: ("kept", "markdown") for name in NAMES.values()}


def test_suffix_and_stem_of_paths_and_urls():
    assert (Input("d/Is_It_Worth_Being_Wise?.txt", b"").suffix, Input("d/Is_It_Worth_Being_Wise?.txt", b"").stem) == \
        (".txt", "Is_It_Worth_Being_Wise-")
    assert Input("C:\\essays\\a#b=c.srt", b"").suffix == ".srt"
    assert not Input("notes/what?.md", b"").is_url and Input("https://jane.blog/p.html?x=1#top", b"").is_url
    assert Input("https://jane.blog/p.html?x=1#top", b"").suffix == ".html"
    assert Input("https://jane.blog/essays/?page=2", b"").stem == "essays"
