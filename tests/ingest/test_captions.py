"""Caption formats: SRT, WebVTT, SBV, TTML, YouTube timed text, json3 and transcript-api JSON."""

import json

import pytest

from doppel.ingest.base import Rejected
from tests.ingest.helpers import read, turns

SRT_STYLED = """1
00:00:01,000 --> 00:00:02,500
<i>Host:</i> Welcome <b>back</b>.

2
00:00:02,500 --> 00:00:01,000
{\\an8}Jane Doe: Thanks &amp; hello.

3
00:00:03,000 --> 00:00:04,000
It is good to be here.
"""


def test_srt_tags_removed_and_end_before_start_repaired():
    [doc], res = read("ep.srt", SRT_STYLED)
    assert turns(doc) == [("Host", "Welcome back."), ("Jane Doe", "Thanks & hello. It is good to be here.")]
    assert doc.turns[1].start == 2.5 and doc.turns[1].end == 4.0
    assert res.repairs == ["cue_end_before_start"]


def test_srt_malformed_cue_is_skipped_and_logged():
    text = ("1\n00:00:01,000 --> 00:00:02,000\nJane: One.\n\n2\n00:00:0x,000 --> 00:00:03,000\nlost\n\n"
            "3\n00:00:04,000 --> 00:00:05,000\nTwo.\n")
    [doc], res = read("ep.srt", text)
    assert turns(doc) == [("Jane", "One. Two.")]
    assert res.repairs == ["skipped_malformed_cues"]


VTT = """WEBVTT - a talk
Kind: captions

NOTE written by hand
over two lines

STYLE
::cue { color: yellow }

REGION
id:fred width:40%

intro
00:01.000 --> 00:04.000 align:start
<v Roger Bingham>We are in <b>New York City</b>

00:04.000 --> 00:06.500
<v.loud Neil deGrasse Tyson>We're actually at the <i>Lucern Hotel</i>

01:00:06.500 --> 01:00:08.000
<v Neil deGrasse Tyson>just down the street.
"""


def test_webvtt_blocks_voices_styling_and_both_time_forms():
    [doc], _ = read("talk.vtt", VTT)
    assert turns(doc) == [("Roger Bingham", "We are in New York City"),
                          ("Neil deGrasse Tyson", "We're actually at the Lucern Hotel just down the street.")]
    assert (doc.turns[0].start, doc.turns[1].end) == (1.0, 3608.0)


YOUTUBE_AUTO = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.350 align:start position:0%
 
so<00:00:00.400><c> today</c><00:00:00.800><c> we're</c><00:00:01.200><c> going</c>

00:00:02.350 --> 00:00:02.360 align:start position:0%
so today we're going
 

00:00:02.360 --> 00:00:04.870 align:start position:0%
so today we're going
to<00:00:02.600><c> talk</c><00:00:02.900><c> about</c><00:00:03.300><c> tides</c>

00:00:04.870 --> 00:00:04.880 align:start position:0%
to talk about tides
 

00:00:04.880 --> 00:00:07.000 align:start position:0%
to talk about tides
and<00:00:05.200><c> why</c><00:00:05.500><c> they</c><00:00:05.800><c> turn</c>
"""


def test_youtube_auto_captions_karaoke_and_rolling_lines_collapse():
    [doc], _ = read("auto.en.vtt", YOUTUBE_AUTO)
    assert turns(doc) == [("Unknown", "so today we're going to talk about tides and why they turn")]
    assert (doc.turns[0].start, doc.turns[0].end) == (0.0, 7.0)


def test_vtt_without_header_is_repaired_and_broken_vtt_rejected():
    [doc], res = read("x.vtt", "00:01.000 --> 00:02.000\nJane: Hi there.\n")
    assert turns(doc) == [("Jane", "Hi there.")] and res.repairs == ["missing_webvtt_header"]
    with pytest.raises(Rejected) as err:
        read("y.vtt", "WEBVTT\n\nno cues here at all\n")
    assert err.value.reason == "bad_captions"


SBV = """0:00:00.599,0:00:04.160
>> ALICE: Hi, my name is Alice Miller
and this is John Brown

0:00:04.160,0:00:06.770
>> JOHN: and we're the owners of Miller Bakery.

0:00:06.770,0:00:08.000
>> Today we bake bread.
"""


def test_sbv_with_broadcast_speaker_marks():
    [doc], _ = read("bakery.sbv", SBV)
    assert turns(doc) == [("ALICE", "Hi, my name is Alice Miller and this is John Brown"),
                          ("JOHN", "and we're the owners of Miller Bakery."),
                          ("Unknown", "Today we bake bread.")]


TTML = """<?xml version="1.0" encoding="UTF-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttm="http://www.w3.org/ns/ttml#metadata"
    xmlns:ttp="http://www.w3.org/ns/ttml#parameter" ttp:frameRate="25">
  <head><metadata>
    <ttm:agent xml:id="a1" type="person"><ttm:name type="full">Jane Doe</ttm:name></ttm:agent>
  </metadata></head>
  <body><div>
    <p begin="00:00:01.000" end="00:00:03.000" ttm:agent="a1">The tide<br/>turns <span tts:fontStyle="italic" xmlns:tts="http://www.w3.org/ns/ttml#styling">twice</span> a day.</p>
    <p begin="3.5s" dur="1500ms">Bob: Why twice?</p>
    <p begin="00:00:05:10" end="00:00:06:00">Because of the moon.</p>
  </div></body>
</tt>"""


def test_ttml_agents_line_breaks_and_time_expressions():
    [doc], _ = read("tides.ttml", TTML)
    assert turns(doc) == [("Jane Doe", "The tide turns twice a day."), ("Bob", "Why twice? Because of the moon.")]
    assert (doc.turns[0].start, doc.turns[1].start, doc.turns[1].end) == (1.0, 3.5, 6.0)


def test_youtube_timed_text_xml_srv1_and_srv3():
    srv1 = '<?xml version="1.0"?><transcript><text start="0.5" dur="2">Jane: Hello &amp;amp; welcome.</text>' \
           '<text start="2.5" dur="1.5">Glad you came.</text></transcript>'
    [doc], _ = read("v.srv1", srv1)
    assert turns(doc) == [("Jane", "Hello & welcome. Glad you came.")]
    srv3 = '<timedtext format="3"><body><p t="1000" d="1500">So the tide</p><p t="2500" d="900">turns.</p></body></timedtext>'
    [doc], _ = read("v.srv3", srv3)
    assert turns(doc) == [("Unknown", "So the tide turns.")] and doc.turns[0].end == 3.4


def test_youtube_json3_and_transcript_api_json():
    json3 = {"wireMagic": "pb3", "pens": [{}], "events": [
        {"tStartMs": 0, "dDurationMs": 4000, "id": 1, "wWinId": 1},
        {"tStartMs": 100, "dDurationMs": 2000, "wWinId": 1, "segs": [{"utf8": ">> JANE: so"}, {"utf8": " the", "tOffsetMs": 300}]},
        {"tStartMs": 2000, "wWinId": 1, "aAppend": 1, "segs": [{"utf8": "\n"}]},
        {"tStartMs": 2100, "dDurationMs": 1900, "wWinId": 1, "segs": [{"utf8": "tide"}, {"utf8": " turns", "tOffsetMs": 400}]},
        {"tStartMs": 4100, "dDurationMs": 1000, "segs": [{"utf8": ">> BOB: Why?"}]}]}
    [doc], res = read("abc.en.json3", json.dumps(json3))
    assert res.reader == "json" and doc.kind == "json3"
    assert turns(doc) == [("JANE", "so the tide turns"), ("BOB", "Why?")]
    snippets = [{"text": "Jane: Hello there", "start": 0.0, "duration": 1.5},
                {"text": "and welcome back", "start": 1.5, "duration": 2.0},
                {"text": "[Music]", "start": 3.5, "duration": 1.0}]
    [doc], _ = read("abc.json", json.dumps(snippets))
    assert doc.kind == "youtube_transcript"
    assert turns(doc) == [("Jane", "Hello there and welcome back [Music]")] and doc.turns[0].end == 4.5
