"""Every TTML time expression form (TTML1 §10.3.1, TTML2 §10.3.1), TTML's time containment,
and the lenient forms real files use (Apple's bare and mm:ss offsets)."""

import pytest
from lxml import etree

from doppel.ingest.base import Rejected
from doppel.ingest.ttmltime import TimeBase, parse_time
from tests.ingest.helpers import read, turns

TTP = 'xmlns:ttp="http://www.w3.org/ns/ttml#parameter"'


def timing(attrs: str = "") -> TimeBase:
    return TimeBase.of(etree.fromstring(f'<tt xmlns="http://www.w3.org/ns/ttml" {TTP} {attrs}/>'))


@pytest.mark.parametrize("expr, seconds", [
    ("00:01:02", 62.0), ("00:01:02.5", 62.5), ("100:00:00.25", 360000.25), ("00:00:01,5", 1.5),
    ("00:00:01:15", 1.5), ("00:00:01:15.0", 1.5),
    ("19.764s", 19.764), ("1.5h", 5400.0), ("2m", 120.0), ("2.5m", 150.0), ("1500ms", 1.5), ("0.5ms", 0.0005),
    ("45f", 1.5), ("7.5f", 0.25), ("90t", 90.0), ("10s", 10.0), (" 3s ", 3.0), (".5s", 0.5),
    ("19.764", 19.764), ("7", 7.0), ("01:19.764", 79.764), ("1:05", 65.0),
    ('wallclock("12:00:01.5")', 43201.5), ("wallclock('1970-01-01T00:01:00Z')", 60.0),
])
def test_time_expressions_at_the_default_rates(expr, seconds):
    assert parse_time(expr) == pytest.approx(seconds)


def test_frame_rate_multiplier_sub_frames_and_tick_rate():
    ntsc = timing('ttp:frameRate="30" ttp:frameRateMultiplier="1000 1001" ttp:subFrameRate="2"')
    assert parse_time("30f", ntsc) == pytest.approx(1.001)
    assert parse_time("00:00:00:15.1", ntsc) == pytest.approx((15 + 0.5) / (30000 / 1001))
    assert parse_time("60t", ntsc) == pytest.approx(60 / (2 * 30000 / 1001))  # ticks default to sub-frames
    assert parse_time("10000000t", timing('ttp:tickRate="10000000"')) == 1.0
    assert parse_time("5t", timing()) == 5.0  # no frame rate: one tick a second
    assert parse_time("00:00:02:12", timing('ttp:frameRate="24"')) == 2.5


def test_smpte_drop_frame_counting():
    drop = timing('ttp:timeBase="smpte" ttp:frameRate="30" ttp:frameRateMultiplier="1000 1001" ttp:dropMode="dropNTSC"')
    # 00:01:00;02 is frame 1800 (frames 0 and 1 of minute one are skipped); 00:10:00;00 is frame 17982
    assert parse_time("00:01:00:02", drop) == pytest.approx(1800 / (30000 / 1001))
    assert parse_time("00:10:00:00", drop) == pytest.approx(17982 / (30000 / 1001))
    pal = timing('ttp:timeBase="smpte" ttp:frameRate="30" ttp:frameRateMultiplier="1000 1001" ttp:dropMode="dropPAL"')
    assert parse_time("00:02:00:04", pal) == pytest.approx(3600 / (30000 / 1001))


def test_bad_expressions_and_parameters_are_errors():
    for bad in ("abc", "12x", "1:2:3:4:5", "-1s", "wallclock(noon)"):
        with pytest.raises(ValueError):
            parse_time(bad)
    with pytest.raises(Rejected) as err:
        read("bad.ttml", '<tt xmlns="http://www.w3.org/ns/ttml"><body><div><p begin="soon">Hi.</p></div></body></tt>')
    assert err.value.reason == "bad_captions" and "bad time expression 'soon'" in err.value.detail


APPLE = """<?xml version="1.0" encoding="UTF-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:itunes="http://music.apple.com/lyric-ttml-internal"
    xmlns:ttm="http://www.w3.org/ns/ttml#metadata" xml:lang="en">
  <head><metadata><ttm:agent type="person" xml:id="v1"/></metadata></head>
  <body dur="64.5">
    <div begin="19.764" end="40.2">
      <p begin="19.764" end="24.1" itunes:key="L1" ttm:agent="v1">The lamp is lit at dusk</p>
      <p begin="00:24.100" end="00:28.350" itunes:key="L2" ttm:agent="v1">and the fog comes in</p>
    </div>
  </body>
</tt>"""

NESTED = """<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter" ttp:tickRate="10">
  <body><div begin="10s">
    <p begin="1s" dur="2s">Jane: Offsets count</p>
    <p><span begin="50t" end="60t">from the</span> <span begin="60t" end="80t">div.</span></p>
    <div timeContainer="seq" begin="20s">
      <p dur="1s">Bob: One</p>
      <p dur="2s">after another.</p>
    </div>
  </div></body>
</tt>"""


def test_apple_ttml_with_bare_and_minute_offsets():
    [doc], _ = read("lyrics.ttml", APPLE)
    assert turns(doc) == [("v1", "The lamp is lit at dusk and the fog comes in")]
    assert (doc.turns[0].start, doc.turns[0].end) == (19.764, 28.35)


def test_time_containment_span_timing_and_seq_containers():
    [doc], _ = read("nested.ttml", NESTED)
    assert turns(doc) == [("Jane", "Offsets count from the div."), ("Bob", "One after another.")]
    assert (doc.turns[0].start, doc.turns[0].end) == (11.0, 18.0)
    assert (doc.turns[1].start, doc.turns[1].end) == (30.0, 33.0)
