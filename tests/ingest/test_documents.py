"""Prose and structured documents: Markdown, HTML, PDF, JSON/JSONL documents and chats; the
reader is chosen by content as well as by extension."""

import json

import pytest

from doppel.ingest.base import Rejected
from tests.ingest.helpers import read, turns
from tests.ingest.pdf import make_pdf

HTML = """<!DOCTYPE html>
<html><head><title>On Tides | Jane's Notebook</title>
<meta property="og:title" content="On Tides"><meta property="article:published_time" content="2021-03-04">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/essays">Essays</a></li><li><a href="/about">About me</a></li></ul></nav>
<main><article>
<h1>On Tides</h1>
<p>The tide comes in and the tide goes out, and every morning I walk down to the water to see what it has left behind for me.</p>
<p>Some days it is driftwood. Some days it is a single shoe. Once it was a letter in a bottle, though the ink had run.</p>
</article></main>
<footer><p>© 2024 Jane Doe. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def test_html_main_text_title_and_date_without_boilerplate():
    [doc], res = read("tides.html", HTML)
    assert res.reader == "html" and (doc.title, doc.date) == ("On Tides", "2021-03-04")
    assert doc.text == ("The tide comes in and the tide goes out, and every morning I walk down to the water to see "
                        "what it has left behind for me.\nSome days it is driftwood. Some days it is a single shoe. "
                        "Once it was a letter in a bottle, though the ink had run.")


def test_pdf_text_layer_title_and_date():
    data = make_pdf([["The lamp was lit at dusk,", "as it had been for ninety years."], ["Nobody asked why."]],
                    title="Keeping the Light", date="20200517")
    [doc], res = read("light.pdf", data)
    assert res.reader == "pdf" and (doc.title, doc.date) == ("Keeping the Light", "2020-05-17")
    assert doc.text == "The lamp was lit at dusk, as it had been for ninety years.\n\nNobody asked why."
    assert doc.meta == {"pages": 2}


def test_pdf_without_text_truncated_or_fake_is_rejected():
    reasons = {}
    for name, data in {"scan.pdf": make_pdf([[]]), "cut.pdf": make_pdf([["Hello there."]])[:60],
                       "fake.pdf": b"just some words\n"}.items():
        with pytest.raises(Rejected) as err:
            read(name, data)
        reasons[name] = err.value.reason
    assert reasons == {"scan.pdf": "no_text_layer", "cut.pdf": "bad_pdf", "fake.pdf": "bad_pdf"}


def test_markdown_front_matter_and_broken_front_matter():
    [doc], _ = read("e.md", "---\ntitle: Fog\ndate: 2022-11-02\ntags: [sea]\n---\n# Fog\n\nFog lifts.\n")
    assert (doc.title, doc.date, doc.text) == ("Fog", "2022-11-02", "# Fog\n\nFog lifts.")
    with pytest.raises(Rejected) as err:
        read("bad.md", "---\ntitle: [unclosed\n---\nBody.\n")
    assert err.value.reason == "bad_front_matter"


def test_jsonl_documents_openai_and_sharegpt_chats():
    lines = [{"id": "e1", "title": "Fog", "date": "2022-01-02", "text": "Fog lifts, always."},
             {"messages": [{"role": "system", "content": "Be Jane."}, {"role": "user", "content": "Why stay?"},
                           {"role": "assistant", "content": [{"type": "text", "text": "Somebody has to."}]}]},
             {"conversations": [{"from": "human", "value": "And the fog?"}, {"from": "gpt", "value": "It lifts."}]}]
    text = "\n".join(json.dumps(x) for x in lines) + "\n{not json\n"
    docs, res = read("mixed.jsonl", text)
    assert [d.kind for d in docs] == ["json", "chat", "chat"]
    assert (docs[0].title, docs[0].date, docs[0].text) == ("Fog", "2022-01-02", "Fog lifts, always.")
    assert turns(docs[1]) == [("user", "Why stay?"), ("assistant", "Somebody has to.")]
    assert docs[1].meta == {"system": "Be Jane."}
    assert turns(docs[2]) == [("human", "And the fog?"), ("gpt", "It lifts.")]
    assert res.repairs == ["skipped_bad_json_lines"] and len({d.id for d in docs}) == 3


def test_json_list_of_documents_and_unknown_shapes():
    docs, _ = read("essays.json", json.dumps({"documents": [{"content": "One."}, {"body": "Two."}]}))
    assert [d.text for d in docs] == ["One.", "Two."]
    with pytest.raises(Rejected) as err:
        read("numbers.json", "[1, 2, 3]")
    assert err.value.reason == "unknown_json_shape"


def test_reader_chosen_by_content_over_extension():
    vtt = "WEBVTT\n\n00:01.000 --> 00:02.000\nJane: Hi.\n"
    srt = "1\n00:00:01,000 --> 00:00:02,000\nJane: Hi.\n"
    cases = {"a.txt": vtt, "b.srt": vtt, "c.caption": srt, "d": HTML, "e.txt": json.dumps({"text": "Hello."})}
    assert {n: read(n, t)[1].reader for n, t in cases.items()} == {
        "a.txt": "vtt", "b.srt": "vtt", "c.caption": "srt", "d": "html", "e.txt": "json"}


def test_unknown_extension_without_a_signature_is_rejected_not_guessed():
    for name, data in {"notes": b"Just some words.", "table.csv": b"a,b\n1,2\n", "photo.jpg": b"\xff\xd8\xff\xe0JFIF",
                       "song.mp3": b"ID3\x04\x00" + bytes(range(256))}.items():
        with pytest.raises(Rejected) as err:
            read(name, data)
        assert err.value.reason == "unsupported_format", name
