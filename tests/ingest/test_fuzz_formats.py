"""Property tests for the newer formats: broken role-play JSON, Oyez hearings, TTML timing,
Whisper tables, scripts and HTML fragments are rejected with a reason, never a reader bug."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest.test_fuzz import check
from tests.ingest.test_html_fallback import FRAGMENT, TABLE_FRAGMENT
from tests.ingest.test_roleplay import SCRIPT_EN, SCRIPT_ZH
from tests.ingest.test_timed_json import OYEZ
from tests.ingest.test_ttml_times import APPLE, NESTED
from tests.ingest.test_whisper_tables import TIMESTAMPED_CSV, WHISPER_TSV

SEEDS = {
    "h.json": json.dumps(OYEZ), "l.ttml": APPLE, "n.ttml": NESTED, "w.tsv": WHISPER_TSV, "w.csv": TIMESTAMPED_CSV,
    "s.txt": SCRIPT_EN, "z.txt": SCRIPT_ZH, "f.html": FRAGMENT, "t.html": TABLE_FRAGMENT,
    "r.jsonl": json.dumps({"role": "Sheldon", "question": "Why?", "generated": ["Because."], "type": "general"}),
    "c.jsonl": json.dumps({"character": "B", "content": [{"turn_content": [{"role": "B", "action": "(speaking)",
                                                                           "content": "Hi"}]}]}),
    "y.json": json.dumps([{"vid": [{"text": "hi", "start": 0, "duration": 1}]}, ["bad"]]),
    "m.json": json.dumps({"0": "Jane: hi", "1.5": "there"}),
}


@st.composite
def damaged(draw):
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name].encode("utf-8"))
    for pos, value in draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=5)):
        data[pos] = value
    cut = draw(st.integers(0, len(data)))
    return name, bytes(data[:cut] if draw(st.booleans()) else data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=damaged())
def test_damaged_new_formats_are_read_or_rejected_with_a_reason(case):
    name, data = case
    check(name, data, "auto")
