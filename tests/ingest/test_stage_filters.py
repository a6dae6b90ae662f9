"""The stage: speaker assignment, cleaning, filters, exact and near duplicates, the report."""

import json
import random

import pytest

from doppel.config import CleanSettings, IngestConfig, PersonaConfig, SourceConfig
from doppel.errors import UserError
from doppel.ingest import stage
from doppel.ingest.clean import clean_speech, normalize
from doppel.workspace import Workspace

WORDS = ("tide lamp harbour fog rope net gull stone boat keeper night light storm shore wave salt wind rock "
         "bell anchor cliff mist dawn dusk oar sail deck hull buoy pier").split()


def episode(seed: int, n: int = 600) -> str:
    rng = random.Random(seed)
    lines = []
    for i in range(0, n, 20):
        who = "Host" if (i // 20) % 2 == 0 else "Jane Smith"
        lines.append(f"{who}: " + " ".join(rng.choice(WORDS) for _ in range(20)) + ".")
    return "\n".join(lines) + "\n"


def ingest(tmp_path, files: dict, cfg=None, persona=None, **src):
    folder = tmp_path / "src"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    ws = Workspace(tmp_path / "run")
    persona = persona or PersonaConfig(name="Jane Smith", aliases=["Jane", "J.S."])
    result = stage.run([SourceConfig(path=folder, **src)], [], persona, ws, cfg or IngestConfig())
    report = json.loads((ws.corpus / "ingest_report.json").read_text())
    docs = [json.loads(line) for line in (ws.corpus / "documents.jsonl").read_text().splitlines()]
    return result, report, docs


def status(report) -> dict:
    return {f["path"].rsplit("/", 1)[-1]: (f["status"], f["reason"]) for f in report["files"]}


def test_speech_cleanup_settings():
    cfg = CleanSettings(fillers=True)
    counts = {}
    from collections import Counter
    counts = Counter()
    text = ("Um, so I I I think, you know, the th- the lamp [crosstalk] stays lit (laughs) (00:12:03) — see "
            "https://example.org and [my notes](https://example.org/n). That that is true. Uh.")
    assert clean_speech(text, cfg, counts) == ("So I think, the lamp stays lit — see and my notes. "
                                               "That that is true.")
    assert counts == {"fillers": 3, "stutters": 2, "annotations": 2, "timestamps": 1, "links": 2}
    kept = clean_speech("Um, you know, it was hard.", CleanSettings(), Counter())
    assert kept == "Um, you know, it was hard."  # fillers stay unless asked: they may be the voice
    assert normalize("Cafe\u0301 \u201cquoted\u201d\u00a0 text\u200b\r") == "Café “quoted” text"


def test_persona_matching_is_case_punctuation_accent_and_initials_insensitive():
    p = PersonaConfig(name="José Ruiz", aliases=["J.R.", "Pepe"])
    assert [p.matches(s) for s in ["JOSE RUIZ", "josé ruiz:", "JR", "j. r.", ">> PEPE", "Jose", "Speaker 1"]] == \
        [True, True, True, True, True, False, False]


def test_speaker_renames_and_unlabelled_speaker_per_source(tmp_path):
    text = ("1\n00:00:01,000 --> 00:00:03,000\nSPEAKER_00: Why keep the lamp lit all night long?\n\n"
            "2\n00:00:03,000 --> 00:00:06,000\nSPEAKER_01: Because somebody has to, and it has always been me.\n")
    _, report, docs = ingest(tmp_path, {"a.srt": text}, speakers={"speaker_00": "Host", "SPEAKER_01": "Jane"})
    assert [(t["speaker"], t["text"]) for t in docs[0]["turns"]] == [
        ("Host", "Why keep the lamp lit all night long?"), ("Jane", "Because somebody has to, and it has always been me.")]
    assert report["speakers"]["Jane"]["is_persona"] and not report["speakers"]["Host"]["is_persona"]
    solo = "WEBVTT\n\n00:01.000 --> 00:05.000\nso today I want to talk about the lamp and why it matters\n"
    _, report, docs = ingest(tmp_path / "b", {"vlog.vtt": solo}, speaker="Jane Smith")
    assert docs[0]["turns"][0]["speaker"] == "Jane Smith" and report["persona_turn_words"] == 13


def test_exact_and_near_duplicates_clip_and_reupload(tmp_path):
    full = episode(1)
    clip = "\n".join(full.splitlines()[5:15]) + "\n"  # a clip cut from the episode
    reupload = full.replace("Host:", "HOST:").replace(" gull ", " gulls ", 3)  # other labels, small edits
    files = {"ep1.txt": full, "ep1_copy.txt": full, "clip.txt": clip, "ep1_reupload.txt": reupload,
             "ep2.txt": episode(2)}
    result, report, docs = ingest(tmp_path, files)
    assert status(report) == {"clip.txt": ("rejected", "near_duplicate"), "ep1_copy.txt": ("rejected", "exact_duplicate"),
                              "ep1_reupload.txt": ("rejected", "near_duplicate"), "ep1.txt": ("kept", None),
                              "ep2.txt": ("kept", None)}
    pairs = {(d["kind"], d["dropped"].rsplit("/", 1)[-1], d["kept"].rsplit("/", 1)[-1]) for d in report["duplicates"]}
    assert pairs == {("exact", "ep1_copy.txt", "ep1.txt"), ("near", "clip.txt", "ep1.txt"),
                     ("near", "ep1_reupload.txt", "ep1.txt")}
    assert result.summary["duplicates_removed"] == 3 and report["documents_dropped"] == {
        "exact_duplicate": 1, "near_duplicate": 2}
    assert all(d["containment"] >= 0.8 for d in report["duplicates"] if d["kind"] == "near")


def test_language_allow_list_min_words_and_every_file_reported_once(tmp_path):
    files = {"en.txt": "The keeper climbed the stairs every evening to light the great lamp above the harbour.",
             "de.txt": "Der Wärter stieg jeden Abend die Treppe hinauf, um die große Lampe über dem Hafen anzuzünden.",
             "short.txt": "Too short.", "junk.bin": "\0\0\0"}
    result, report, docs = ingest(tmp_path, files, IngestConfig(languages=["en"]))
    assert status(report) == {"de.txt": ("rejected", "language_not_allowed"), "en.txt": ("kept", None),
                              "junk.bin": ("rejected", "unsupported_format"), "short.txt": ("rejected", "too_short")}
    assert report["files_seen"] == 4 == len(report["files"]) and [d["meta"]["language"] for d in docs] == ["en"]
    assert report["rejected"] == {"language_not_allowed": 1, "unsupported_format": 1, "too_short": 1}


def test_strict_turns_any_rejection_into_a_failure(tmp_path):
    with pytest.raises(UserError, match=r"strict ingest: 1 of 2 inputs were rejected: .*bad.srt: bad_captions"):
        ingest(tmp_path, {"ok.txt": "A perfectly fine sentence that has more than ten words in it.",
                          "bad.srt": "1\nnonsense\n"}, IngestConfig(strict=True))
    assert (tmp_path / "run" / "corpus" / "ingest_report.json").exists()  # the report says why


def test_worker_processes_give_the_same_corpus_and_report(tmp_path, monkeypatch):
    from doppel.ingest import work

    files = {f"ep{i}.txt": episode(10 + i, 200) for i in range(4)}
    files["bad.srt"] = "1\nnonsense\n"
    serial = ingest(tmp_path / "serial", files, IngestConfig(workers=1))
    monkeypatch.setattr(work, "PARALLEL_MIN_BYTES", 0)
    parallel = ingest(tmp_path / "parallel", files, IngestConfig(workers=2))
    strip = lambda r: [{k: v for k, v in f.items() if k != "path"} for f in r["files"]]  # noqa: E731
    assert strip(parallel[1]) == strip(serial[1]) and len(serial[1]["files"]) == 5
    assert [d["text"] for d in parallel[2]] == [d["text"] for d in serial[2]] and len(serial[2]) == 4
