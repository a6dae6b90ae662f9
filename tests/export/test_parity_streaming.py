"""The parity gate streams its comparison (no logits kept for all texts) when they would not fit its budget,
keeps them for every file when they do, and fails files that produce NaN."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np

from doppel.config import ParitySettings
from doppel.export import parity
from doppel.export.parity import measure, reference, verdict
from doppel.modeling.loading import ModelSource, load_model
from tests.export.models import persona_paragraphs


def test_the_gate_holds_one_text_of_logits_at_a_time(llama_dir, llama_ggufs, monkeypatch):
    monkeypatch.setattr(parity, "KEEP_LOGITS_BYTES", 1_000_000)  # under these texts' 3 MB of logits
    model, tokenizer = load_model(ModelSource("m", str(llama_dir)), dtype="float32")
    cfg = ParitySettings(max_tokens_per_text=64)
    texts = persona_paragraphs(99, 40)
    ref = reference(model, tokenizer, texts, [], cfg, None)
    assert not any(isinstance(v, np.ndarray) for v in vars(ref).values())
    assert not any(isinstance(x, np.ndarray) for v in vars(ref).values() if isinstance(v, list) for x in v)
    positions = sum(len(ids) for ids in ref.text_ids)
    all_logits = positions * len(tokenizer) * 4  # bytes of one float32 copy of every text's logits
    assert len(ref.text_ids) == 40 and all_logits > 3_000_000

    tracemalloc.start()
    try:
        row = measure(str(llama_ggufs["f16"]), ref, texts, [], cfg, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Holding the HF and the GGUF logits of every text would take 2 × all_logits. One text at a time needs
    # about a dozen copies of that text's logits (float64 softmax temporaries included): 0.30 × all_logits
    # for these 40 texts (measured), and no more for 4,000.
    assert peak < all_logits / 2, (peak, all_logits)
    assert row["tokenization_equal"] and row["nonfinite_logits"] == 0
    assert row["ppl_ratio"] < 1.01 and row["mean_kl"] < 1e-3 and row["top1_agreement"] > 0.99


def test_logits_that_fit_the_budget_are_computed_once_for_every_file(llama_dir, llama_ggufs, monkeypatch):
    model, tokenizer = load_model(ModelSource("m", str(llama_dir)), dtype="float32")
    cfg = ParitySettings(max_tokens_per_text=64)
    texts = persona_paragraphs(7, 6)
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))
    rows = {}
    for budget in (0, parity.KEEP_LOGITS_BYTES):
        monkeypatch.setattr(parity, "KEEP_LOGITS_BYTES", budget)
        calls.clear()
        ref = reference(model, tokenizer, texts, [], cfg, None)
        rows[budget] = [measure(str(llama_ggufs[k]), ref, texts, [], cfg, None) for k in ("f16", "q8_0")]
        # streamed: once for the reference and once per file; kept: once in all
        assert len(calls) == len(ref.text_ids) * (3 if budget == 0 else 1)
    for streamed, kept in zip(*rows.values()):
        for key in ("ppl_ratio", "mean_kl", "top1_agreement", "max_abs_logit_diff"):
            assert streamed[key] == kept[key]


def test_a_file_whose_logits_are_nan_fails():
    cfg = ParitySettings()
    row = {"tokenization_equal": True, "chat_template_equal": True, "missed_stops": 0, "ppl_ratio": math.nan,
           "mean_kl": math.nan, "top1_agreement": 0.95, "nonfinite_logits": 1200}
    failures = verdict(row, cfg)
    assert failures[0] == "1200 logits are NaN or infinite"
    assert any(f.startswith("perplexity ratio nan") for f in failures)
    assert any(f.startswith("mean KL nan") for f in failures)
    assert verdict({**row, "ppl_ratio": 1.0, "mean_kl": 0.0, "nonfinite_logits": 0}, cfg) == []


def test_a_stop_is_missed_only_where_the_file_wrote_the_whole_answer_and_went_on():
    from doppel.export.parity import stop_check

    ref = ["Tide comes in, tide goes out.", "Small towns? Where do I start.", "Plain as porridge.", "Aye."]
    ref_finishes = ["stop", "stop", "stop", "length"]
    answers = ["Tide comes in, tide goes out. And then the fog, and then",  # ran on past her answer
               "Small towns? Where do I begin, and why does it matter to",  # parted at a near-tie
               "Plain as porridge.",  # the same, stopped
               "Aye. And more"]  # the HF model did not stop either
    finishes = ["length", "length", "stop", "length"]
    assert stop_check(ref, ref_finishes, answers, finishes) == (1, 1)
    row = {"tokenization_equal": True, "chat_template_equal": True, "missed_stops": 1, "ppl_ratio": 1.0,
           "mean_kl": 0.0, "top1_agreement": 1.0}
    assert verdict(row, ParitySettings()) == ["1 answer(s) ran past the end-of-turn token"]
    assert verdict({**row, "missed_stops": 0, "diverged_answers": 1}, ParitySettings()) == []
