"""The held-out split is by document: no document's text reaches both training and held-out data."""

from doppel.data.splits import heldout_ids
from doppel.records import Document, Turn


def docs():
    prose = [Document(id=f"essay{i}", source="x", kind="markdown", text=f"text {i}") for i in range(20)]
    talks = [Document(id=f"talk{i}", source="y", kind="srt", text="t",
                      turns=[Turn(speaker="A", text="q"), Turn(speaker="B", text="a")]) for i in range(6)]
    return prose + talks


def test_split_is_deterministic_and_covers_both_kinds():
    held = heldout_ids(docs(), 0.2, seed=3)
    assert held == heldout_ids(docs(), 0.2, seed=3)
    assert held != heldout_ids(docs(), 0.2, seed=4)
    assert sum(h.startswith("essay") for h in held) == 4
    assert sum(h.startswith("talk") for h in held) == 1


def test_single_document_groups_stay_in_training():
    one = [Document(id="only", source="x", kind="text", text="t")]
    assert heldout_ids(one, 0.5, seed=0) == set()


def test_build_keeps_some_background_documents_out_of_pretraining(tmp_path, demo_sources):
    from doppel import pipeline
    from doppel.config import load_config
    from doppel.records import Document, TextChunk, read_jsonl
    from tests.conftest import write_tiny_config

    config = write_tiny_config(tmp_path, demo_sources, data={"chunk_tokens": 64, "background_heldout_fraction": 0.2})
    cfg = load_config(config)
    ws = pipeline.prepare(cfg)
    pipeline.run_pipeline(cfg, ws, ["ingest", "build"])
    background = {d.id for d in read_jsonl(ws.corpus / "background.jsonl", Document)}
    train = {c.id for c in read_jsonl(ws.data / "pretrain" / "train.jsonl", TextChunk)}
    held = {c.id for c in read_jsonl(ws.data / "heldout" / "background.jsonl", TextChunk)}
    assert held and train and not held & train and held | train == background
    stats = ws.stage_entry("build")["summary"]["pretrain"]
    assert stats["heldout_texts"] == len(held) and stats["texts"] == len(train)

    none = load_config(config, ["data.background_heldout_fraction=0"])
    pipeline.run_pipeline(none, ws, ["build"])
    assert not read_jsonl(ws.data / "heldout" / "background.jsonl", TextChunk)
    assert {c.id for c in read_jsonl(ws.data / "pretrain" / "train.jsonl", TextChunk)} == background
