"""Encodings and line endings: BOMs, UTF-16/32 both byte orders, legacy code pages, CR/CRLF."""

import codecs

import pytest

from doppel.ingest.base import Rejected
from tests.ingest.helpers import read, turns

SRT = "1\n00:00:01,000 --> 00:00:02,000\nJosé: Café au lait — “naturally”.\n\n2\n00:00:02,500 --> 00:00:03,000\nIt’s fine.\n"
EXPECTED = [("José", "Café au lait — “naturally”. It’s fine.")]


@pytest.mark.parametrize("encoding,bom", [
    ("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE),
    ("utf-16-le", b""), ("utf-16-be", b""), ("utf-32-le", b""), ("utf-32-be", b"")])
def test_unicode_encodings_with_and_without_bom(encoding, bom):
    [doc], res = read("talk.srt", bom + SRT.encode(encoding))
    assert turns(doc) == EXPECTED and res.encoding == encoding


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(newline):
    [doc], _ = read("talk.srt", SRT.replace("\n", newline).encode("utf-8"))
    assert turns(doc) == EXPECTED


def test_windows_1252_detected():
    text = ("Jane: The café opened at dawn — “always” — and the fisherman’s coffee was ready before the boats "
            "went out. Bob: Naïve question, but why so early?\n") * 3
    [doc], res = read("notes.txt", text.encode("cp1252"))
    assert res.encoding in ("cp1252", "windows-1252") and doc.text == text.strip()


def test_gb2312_detected():
    text = ("灯塔在悬崖边上矗立了一百年，每天晚上都有人点亮它。没有人知道为什么，但是所有的渔民都依靠它回家。"
            "雾来的时候，灯光更加重要。\n") * 4
    [doc], res = read("notes.txt", text.encode("gb2312"))
    assert res.encoding in ("gb2312", "gb18030", "gbk") and doc.text == text.strip()


def test_truncated_utf8_character_is_repaired():
    data = "The tide turns — ".encode("utf-8") + "—".encode("utf-8")[:2]
    [doc], res = read("cut.txt", data)
    assert doc.text == "The tide turns —" and res.repairs == ["truncated_character"]


def test_binary_empty_and_undecodable_are_rejected():
    cases = {"z.txt": b"", "w.txt": b" \r\n\t ", "nul.txt": b"ab\0\0\0cd\0e", "ctl.txt": bytes(range(1, 9)) * 40}
    reasons = {}
    for name, data in cases.items():
        with pytest.raises(Rejected) as err:
            read(name, data)
        reasons[name] = err.value.reason
    assert reasons == {"z.txt": "empty", "w.txt": "empty", "nul.txt": "binary", "ctl.txt": "binary"}
