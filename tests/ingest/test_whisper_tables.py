"""Whisper's own table writers: `whisper --output_format tsv` (start and end in integer
milliseconds under a header) and whisper-timestamped's CSV (text, start, end in seconds,
no header; csv quoting) and TSV; other tables stay unsupported."""

import pytest

from doppel.ingest.base import Rejected
from tests.ingest.helpers import read, turns

WHISPER_TSV = "start\tend\ttext\n0\t2340\tHello there, welcome back.\n2340\t5120\tThe tide is high tonight.\n"
TIMESTAMPED_CSV = ('"Why the lamp, you ask?",0.0,1.52\n'
                   'Because somebody has to.,1.98,3.3\n'
                   '"She said ""mend it"" and left.",3.3,5.04\n')
WORDS_CSV = "Why,0.0,0.2\nthe,0.2,0.3\nlamp?,0.3,0.62\n"


def test_whisper_tsv_in_milliseconds():
    [doc], res = read("episode.tsv", WHISPER_TSV)
    assert res.reader == "table" and doc.kind == "whisper_tsv"
    assert turns(doc) == [("Unknown", "Hello there, welcome back. The tide is high tonight.")]
    assert (doc.turns[0].start, doc.turns[0].end) == (0.0, 5.12)


def test_whisper_timestamped_csv_in_seconds_with_quoting():
    [doc], res = read("episode.csv", TIMESTAMPED_CSV)
    assert doc.kind == "whisper_csv" and turns(doc) == [
        ("Unknown", 'Why the lamp, you ask? Because somebody has to. She said "mend it" and left.')]
    assert (doc.turns[0].start, doc.turns[0].end) == (0.0, 5.04) and res.repairs == []
    [doc], _ = read("episode.words.csv", WORDS_CSV)
    assert turns(doc) == [("Unknown", "Why the lamp?")] and doc.turns[0].end == 0.62


def test_header_variants_speaker_labels_and_a_bad_row():
    [doc], _ = read("ep.csv", "text,start,end\nJane: Hello.,0.5,1.0\nBob: Hi.,1.0,2.0\n")
    assert turns(doc) == [("Jane", "Hello."), ("Bob", "Hi.")] and doc.turns[0].start == 0.5
    tsv = "start\tend\ttext\n0\t1000\tOne.\nbroken row\n1000\t2000\tTwo.\n"  # whisper-timestamped --output_format tsv
    [doc], res = read("ep.words.tsv", tsv)
    assert turns(doc) == [("Unknown", "One. Two.")] and res.repairs == ["skipped_bad_rows"]


@pytest.mark.parametrize("name, data", [("data.csv", "a,b\n1,2\n"), ("scores.tsv", "name\tscore\nJane\t3\n"),
                                        ("prices.csv", "item,price,qty\nrope,3.5,2\n")])
def test_other_tables_are_unsupported(name, data):
    with pytest.raises(Rejected) as err:
        read(name, data)
    assert err.value.reason == "unsupported_format" and "not a Whisper transcript" in err.value.detail
