"""Property tests: random and mutated bytes given to every reader never raise anything but
Rejected, and never fall through to the stage's last-resort `reader_error` net."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doppel.ingest.base import Input, Rejected
from doppel.ingest.readers import READERS, read_input
from doppel.records import Document
from tests.ingest.pdf import make_pdf
from tests.ingest.test_captions import SBV, SRT_STYLED, TTML, VTT, YOUTUBE_AUTO
from tests.ingest.test_documents import HTML
from tests.ingest.test_transcripts import LINKED, REV

SEEDS = [s.encode("utf-8") for s in (SRT_STYLED, VTT, YOUTUBE_AUTO, SBV, TTML, HTML, REV, LINKED)] + [
    "---\ntitle: T\ndate: 2020-01-01\n---\nBody text.\n".encode("utf-16"),
    json.dumps({"events": [{"tStartMs": 0, "dDurationMs": 10, "segs": [{"utf8": "hi"}]}]}).encode(),
    json.dumps({"segments": [{"start": 0, "end": 1, "text": "x", "speaker": "SPEAKER_00",
                              "words": [{"word": "x", "start": 0, "end": 1, "speaker": "SPEAKER_00"}]}]}).encode(),
    json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}).encode(),
    json.dumps([{"text": "a", "start": 0, "duration": 1}]).encode(),
    make_pdf([["Hello there."]], title="T", date="20200101"),
]
NAMES = ["f.txt", "f.md", "f.srt", "f.vtt", "f.sbv", "f.ttml", "f.html", "f.pdf", "f.json", "f.jsonl", "f", "f.bin"]


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "truncate"]))
        if action == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[pos:pos + draw(st.integers(1, 16))]
        elif action == "flip" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif action == "truncate":
            del data[pos:]
    return bytes(data)


def check(name: str, data: bytes, kind: str) -> None:
    try:
        result = read_input(Input(name=name, data=data), kind)
    except Rejected as rej:
        assert rej.reason != "reader_error", f"{kind} reader raised: {rej.detail}"
        return
    assert result.docs and all(isinstance(d, Document) and d.text.strip() for d in result.docs)


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.one_of(st.binary(max_size=2048), mutated()), name=st.sampled_from(NAMES))
def test_every_reader_survives_random_and_mutated_bytes(data, name):
    check(name, data, "auto")
    for kind in READERS:
        check(name, data, kind)


@FUZZ
@given(text=st.text(max_size=600), name=st.sampled_from(NAMES))
def test_every_reader_survives_random_text(text, name):
    for kind in ["auto", *READERS]:
        check(name, text.encode("utf-8", "surrogatepass"), kind)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.text(max_size=300), min_size=1, max_size=6))
def test_cleaning_and_dedup_survive_any_text(texts):
    from collections import Counter

    from doppel.config import CleanSettings, DedupSettings
    from doppel.ingest.clean import clean_speech, normalize
    from doppel.ingest.dedup import near_duplicates

    cfg = CleanSettings(fillers=True)
    for text in texts:
        one_line = " ".join(normalize(text).split())
        cleaned = clean_speech(one_line, cfg, Counter())
        assert "\n" not in cleaned and cleaned == cleaned.strip()
    found = near_duplicates(texts + texts[:1], DedupSettings())
    assert all(d.kept < d.dropped for d in found)
