"""`doppel ingest` from the command line: paths without a config, --list-speakers, --strict,
and a config file (the same command, decided by the argument)."""

import json

import yaml

from tests.conftest import doppel

TALK = """Jane Smith (00:00:05):
Thanks for having me on the show again, it is always a pleasure.

Host (00:00:09):
What keeps you coming back to the lighthouse after all these years?

J.S. (00:00:15):
Stubbornness, mostly, and the light itself, which never once asked me for anything.

Speaker 3 (00:00:30):
Sorry, can you say that again?
"""


def test_ingest_paths_with_speaker_alias_and_list_speakers(tmp_path):
    (tmp_path / "talk.txt").write_text(TALK)
    (tmp_path / "junk.dat").write_bytes(b"\x00\x01\x02")
    proc = doppel("ingest", tmp_path / "talk.txt", tmp_path / "junk.dat", "--speaker", "Jane Smith",
                  "--alias", "JS", "--out", tmp_path / "out", "--list-speakers", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "out" / "corpus" / "ingest_report.json").read_text())
    assert [(f["path"].rsplit("/", 1)[-1], f["status"], f["reason"]) for f in report["files"]] == [
        ("talk.txt", "kept", None), ("junk.dat", "rejected", "unsupported_format")]
    assert report["speakers"] == {
        "Jane Smith": {"turns": 1, "words": 13, "is_persona": True},
        "J.S.": {"turns": 1, "words": 13, "is_persona": True},
        "Host": {"turns": 1, "words": 12, "is_persona": False},
        "Speaker 3": {"turns": 1, "words": 6, "is_persona": False}}
    assert report["generic_speakers"] == ["Speaker 3"]
    assert "rejected: {'unsupported_format': 1}" in proc.stdout
    table = proc.stdout[proc.stdout.index("speakers in"):]
    assert "J.S." in table and "persona" in table and "generic label" in table
    doc = json.loads((tmp_path / "out" / "corpus" / "documents.jsonl").read_text())
    assert [t["speaker"] for t in doc["turns"]] == ["Jane Smith", "Host", "J.S.", "Speaker 3"]


def test_strict_fails_with_exit_code_2_and_paths_need_out(tmp_path):
    (tmp_path / "bad.srt").write_text("1\nnot a timestamp\n")
    proc = doppel("ingest", tmp_path / "bad.srt", "--out", tmp_path / "out", "--strict")
    assert proc.returncode == 2 and "strict ingest: 1 of 1 inputs were rejected" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = doppel("ingest", tmp_path / "bad.srt")
    assert proc.returncode == 2 and "needs --out DIR" in proc.stderr
    proc = doppel("ingest", tmp_path / "nowhere.txt", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_config_with_ingest_section_and_url_source_validation(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "talk.txt").write_text(TALK)
    cfg = {"name": "jane", "persona": {"name": "Jane Smith", "aliases": ["J.S."]},
           "sources": [{"path": "src", "speakers": {"Speaker 3": "Host"}}],
           "train": {"pretrain": {"enabled": False}},
           "ingest": {"min_words": 3, "languages": ["en"], "clean": {"fillers": True}}}
    (tmp_path / "jane.yaml").write_text(yaml.safe_dump(cfg))
    proc = doppel("ingest", tmp_path / "jane.yaml", "--list-speakers", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "runs" / "jane" / "corpus" / "ingest_report.json").read_text())
    assert report["speakers"]["Host"]["turns"] == 2 and report["persona_turn_words"] == 26
    cfg["sources"] = [{"path": "src", "url": "https://example.org"}]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    proc = doppel("ingest", tmp_path / "bad.yaml")
    assert proc.returncode == 2 and "exactly one of 'path:'" in proc.stderr
