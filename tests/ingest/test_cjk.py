"""Chinese and Japanese text is counted by characters, not by spaces, in the min_words filter,
the report's word counts and the speaker table, and compared character by character in
de-duplication."""

import json

from doppel.config import IngestConfig, SourceConfig
from doppel.ingest import stage
from doppel.ingest.dedup import exact_key
from doppel.ingest.words import count_words, tokens
from doppel.workspace import Workspace

SRT_ZH = """1
00:00:01,000 --> 00:00:03,000
灯塔的灯每天晚上都要点亮。

2
00:00:03,500 --> 00:00:06,000
雾来的时候，我们就敲钟。
"""

SCRIPT_ZH = "阿虚:「你相信外星人吗？」\n春日:「当然相信！」\n"


def test_count_words_in_every_script():
    assert count_words("The tide comes in.") == 4
    assert count_words("灯塔的灯每天晚上都要点亮。") == 12  # twelve characters; the full stop is no word
    assert count_words("毎朝、私は海辺まで歩いて行く。") == 13
    assert count_words("Mara 说：灯塔 is here.") == 6  # mixed text: 2 Han characters and 4 words
    assert count_words("등대는 밤마다 불을 켠다") == 4  # Korean separates words with spaces
    assert count_words("Ærø — café") == 3  # as before: whitespace tokens outside CJK
    assert tokens("灯塔 lamp") == ["灯", "塔", "lamp"] and tokens("the lamp") == ["the", "lamp"]


def test_a_gb2312_subtitle_and_short_chinese_scripts_pass_min_words(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "episode.srt").write_bytes(SRT_ZH.encode("gb2312"))
    (src / "haruhi_01.txt").write_text(SCRIPT_ZH, encoding="utf-8")
    (src / "short.txt").write_text("太短了。", encoding="utf-8")
    ws = Workspace(tmp_path / "run").create()
    result = stage.run([SourceConfig(path=src)], [], None, ws, IngestConfig(min_words=10))
    report = json.loads((ws.corpus / "ingest_report.json").read_text())
    status = {f["path"].rsplit("/", 1)[-1]: (f["status"], f["reason"]) for f in report["files"]}
    assert status == {"episode.srt": ("kept", None), "haruhi_01.txt": ("kept", None), "short.txt": ("rejected", "too_short")}
    assert report["files"][0]["encoding"] in ("gb2312", "gbk", "gb18030")  # GB 18030 is a superset of GB2312
    # 12 + 10 characters of captions, 7 + 4 of script lines; the documents' text also holds the labels
    assert report["speakers"] == {"Unknown": {"turns": 1, "words": 22, "is_persona": False},
                                  "阿虚": {"turns": 1, "words": 7, "is_persona": False},
                                  "春日": {"turns": 1, "words": 4, "is_persona": False}}
    assert result.summary["words"]["persona"] == (1 + 22) + (2 + 7) + (2 + 4)
    assert report["tokens_estimate"]["persona"] >= 36 and report["languages"] == {"zh": 2}


def test_exact_duplicates_of_chinese_text_ignore_spacing_and_distinguish_characters():
    assert exact_key("灯塔的灯 每天晚上都要点亮") == exact_key("灯塔的灯每天晚上都要点亮")
    assert exact_key("灯塔的灯每天晚上都要点亮") != exact_key("灯塔的灯每天早上都要点亮")
