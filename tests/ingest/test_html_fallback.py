"""HTML article fragments (no <html>/<body>, like readability's expected outputs) and Japanese
pages keep their text; the report says which extractor found it."""

import json

import pytest

from doppel.config import SourceConfig
from doppel.ingest import stage
from doppel.ingest.base import Rejected
from doppel.ingest.htmltext import block_text
from doppel.workspace import Workspace
from tests.ingest.helpers import read

FRAGMENT = """<div id="readability-page-1" class="page"><div>
<h2>On Mending Nets</h2>
<p>Every net tears in the same places, and after forty years I know them the way I know my own hands.</p>
<p>The knot matters less than the patience. A hurried knot slips; a patient one holds through a storm.</p>
</div></div>"""

# An old table layout (like readability's hukumusume page): trafilatura's precision mode finds nothing.
TABLE_FRAGMENT = """<div id="readability-page-1" class="page"><div>
<table><tbody><tr><td><a href="/">灯台文庫</a> &gt; きょうのお話 &gt; 霧の夜</td></tr>
<tr><td>
<p>霧の夜、灯台守は一晩中ランプのそばに座っていました。 船の汽笛が遠くで鳴るたびに、彼は窓の外をじっと見つめました。</p>
<p>朝になると霧は晴れ、港には小さな船が一隻、無事に帰ってきていました。</p>
</td></tr></tbody></table>
</div></div>"""

COMMENT_FRAGMENT = "<div class='comments'><p>The lamp was lit at dusk, as it had been for ninety years.</p></div>"

JAPANESE = """<!DOCTYPE html><html lang="ja"><head>
<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><title>灯台の記録</title></head><body>
<nav><a href="/">ホーム</a> <a href="/about">について</a></nav>
<article><h1>灯台の記録</h1>
<p>毎朝、私は海辺まで歩いて、潮が何を残していったのかを見に行く。流木の日もあれば、片方だけの靴の日もある。</p>
</article><footer>著作権 2024</footer></body></html>"""


def test_a_readability_fragment_is_read_by_trafilatura_once_wrapped():
    [doc], res = read("test-pages/nets/expected.html", FRAGMENT)
    assert res.reader == "html" and doc.meta["extractor"] == "trafilatura"
    assert doc.text == ("Every net tears in the same places, and after forty years I know them the way I know my "
                        "own hands.\nThe knot matters less than the patience. A hurried knot slips; a patient one "
                        "holds through a storm.")


def test_a_japanese_table_fragment_falls_back_to_trafilaturas_recall_mode():
    [doc], _ = read("test-pages/kiri/expected.html", TABLE_FRAGMENT)
    assert doc.meta["extractor"] == "trafilatura_recall"
    assert doc.text == ("灯台文庫\n> きょうのお話 > 霧の夜\n"  # recall keeps the breadcrumb too
                        "霧の夜、灯台守は一晩中ランプのそばに座っていました。 船の汽笛が遠くで鳴るたびに、彼は窓の外をじっと"
                        "見つめました。\n朝になると霧は晴れ、港には小さな船が一隻、無事に帰ってきていました。")


def test_a_fragment_both_modes_skip_falls_back_to_its_own_text():
    [doc], res = read("my-comment", COMMENT_FRAGMENT)  # no extension: recognised as HTML by its content
    assert res.reader == "html" and doc.meta["extractor"] == "block_text"
    assert doc.text == "The lamp was lit at dusk, as it had been for ninety years."
    assert block_text("<div><script>x()</script><nav>Home</nav><p>Kept <b>words</b>.</p><p>Two</p></div>") == \
        "Kept words.\nTwo"


def test_a_shift_jis_japanese_page_keeps_its_text_through_the_stage(tmp_path):
    (tmp_path / "kiroku.html").write_bytes(JAPANESE.encode("shift_jis"))
    (tmp_path / "nets.html").write_text(FRAGMENT)
    ws = Workspace(tmp_path / "run").create()
    stage.run([SourceConfig(path=tmp_path)], [], None, ws)
    report = json.loads((ws.corpus / "ingest_report.json").read_text())
    files = {f["path"].rsplit("/", 1)[-1]: f for f in report["files"]}
    assert {n: (f["status"], f.get("extractor")) for n, f in files.items()} == {
        "kiroku.html": ("kept", "trafilatura"), "nets.html": ("kept", "trafilatura")}
    assert files["kiroku.html"]["encoding"] in ("shift_jis", "cp932")
    docs = {json.loads(line)["source"].rsplit("/", 1)[-1]: json.loads(line)
            for line in (ws.corpus / "documents.jsonl").read_text().splitlines()}
    assert docs["kiroku.html"]["title"] == "灯台の記録"
    assert docs["kiroku.html"]["text"] == "毎朝、私は海辺まで歩いて、潮が何を残していったのかを見に行く。流木の日もあれば、片方だけの靴の日もある。"
    assert docs["kiroku.html"]["meta"]["language"] == "ja"


def test_markdown_that_opens_with_html_stays_markdown():
    [doc], res = read("README.md", '<p align="center">Logo</p>\n\n# Tides\n\nThe tide comes in.\n')
    assert res.reader == "markdown" and doc.title == "Tides"
    with pytest.raises(Rejected) as err:  # a page with no text at all is still rejected
        read("index.html", "<html><body><script>render()</script></body></html>")
    assert err.value.reason == "no_main_text"
