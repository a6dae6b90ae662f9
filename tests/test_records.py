"""Records round-trip through JSONL and a bad line is reported with its file and line number."""

import pytest

from doppel.errors import UserError
from doppel.records import Document, Example, Message, Turn, read_jsonl
from doppel.workspace import atomic_write_jsonl


def test_round_trip(tmp_path):
    docs = [Document(id="a", source="a.srt", kind="srt", text="Q: hi\nMara: hello",
                     turns=[Turn(speaker="Mara", text="hello", start=1.0, end=2.5)]),
            Document(id="b", source="b.md", kind="markdown", title="T", date="2020-01-01", text="body")]
    atomic_write_jsonl(tmp_path / "d.jsonl", docs)
    assert read_jsonl(tmp_path / "d.jsonl", Document) == docs


def test_bad_line_names_file_and_line(tmp_path):
    ex = Example(id="e", messages=[Message(role="user", content="q")])
    path = tmp_path / "e.jsonl"
    path.write_text(ex.model_dump_json() + "\n" + '{"id": "x", "messages": [{"role": "robot", "content": "q"}]}\n')
    with pytest.raises(UserError, match=r"e\.jsonl:2: not a valid Example: messages\.0\.role"):
        read_jsonl(path, Example)
    path.write_text("{broken\n")
    with pytest.raises(UserError, match=r"e\.jsonl:1: not valid JSON"):
        read_jsonl(path, Example)
