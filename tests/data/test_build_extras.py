"""Chunk overlap, dialogue filters with reasons, dataset checks, packing stats and estimates."""

import json

from doppel.config import Config, DataConfig, PersonaConfig
from doppel.data.check import check_file, message_problems
from doppel.data.chunking import chunk_text, token_counter
from doppel.data.dialogues import answer_problem, build_examples
from doppel.data.estimate import estimate, gpu_estimate, parse_params
from doppel.records import Document, Example, Turn

PERSONA = PersonaConfig(name="Mara Quell", aliases=["Mara"])


def test_overlap_repeats_whole_sentences_and_covers_the_text(tokenizer):
    count = token_counter(tokenizer)
    sentences = [f"Sentence {i} is about tides and lamps. " for i in range(60)]
    text = "".join(sentences)
    plain = chunk_text(text, 96, count)
    lapped = chunk_text(text, 96, count, overlap=30)
    assert len(lapped) > len(plain)
    for a, b in zip(lapped, lapped[1:]):
        first_b = b.split(". ")[0] + ". "
        assert first_b in a  # the next chunk starts with a sentence of the previous one
    assert all(n <= 96 for n in count(lapped))
    joined = " ".join(lapped)
    assert all(s.strip() in joined for s in sentences)
    assert chunk_text(text, 96, count, overlap=0) == plain


def test_dialogue_filters_drop_fragments_and_chatter_with_reasons():
    cfg = DataConfig(min_answer_words=3)
    assert answer_problem("Q?", "Yes.", cfg) == "answer_too_short"
    assert answer_problem("Q?", "Well I was going to say that the —", cfg) == "interrupted_fragment"
    assert answer_problem("Q?", "and then the boat", cfg) == "interrupted_fragment"
    assert answer_problem("Can you hear me?", "Yeah, I can hear you fine.", cfg) == "off_topic_chatter"
    assert answer_problem("Welcome!", "Thanks for having me, it's lovely.", cfg) == "off_topic_chatter"
    assert answer_problem("Why lamps?", "Because the dark is long, and somebody has to sit up with it.", cfg) is None
    off = DataConfig(min_answer_words=3, drop_fragments=False, drop_chatter=False)
    assert answer_problem("Q?", "and then the boat", off) is None
    doc = Document(id="t", source="t.srt", kind="srt", text="x", turns=[Turn(speaker=s, text=t) for s, t in [
        ("Host", "Can you hear me?"), ("Mara", "Yeah, loud and clear."),
        ("Host", "Why lamps?"), ("Mara", "Because the dark is long, and somebody has to sit up with it."),
        ("Host", "And the sea?"), ("Mara", "The sea is — well, I was going to —")]])
    examples, dropped = build_examples(doc, PERSONA, cfg)
    assert len(examples) == 1 and dropped == {"off_topic_chatter": 1, "interrupted_fragment": 1}


def test_message_problems_name_each_format_fault():
    ok = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert message_problems(ok) == []
    assert message_problems(ok[:2]) == ["missing_assistant_turn"]
    assert message_problems([ok[0], ok[1], {"role": "assistant", "content": "  "}]) == ["empty_message"]
    assert "role_order" in message_problems([ok[2], ok[1], ok[2]])
    assert "system_not_first" in message_problems([ok[1], ok[0], ok[2]])


def test_check_file_counts_tokens_errors_and_over_length(tmp_path, tokenizer):
    good = Example(id="a", messages=[{"role": "user", "content": "Why lamps?"},
                                     {"role": "assistant", "content": "Because the dark is long."}])
    long = Example(id="b", messages=[{"role": "user", "content": "Tell me."},
                                     {"role": "assistant", "content": "tides and lamps " * 100}])
    path = tmp_path / "sft.jsonl"
    path.write_text("\n".join([good.model_dump_json(), long.model_dump_json(), "{not json",
                               json.dumps({"id": "c", "messages": [{"role": "user", "content": "q"}]}),
                               json.dumps({"id": "d", "messages": [{"role": "robot", "content": "q"}]})]) + "\n")
    r = check_file(path, Example, tokenizer, max_len=64)
    assert r["records"] == 3 and r["tokens"] > 100 and r["longest"] > 64
    assert r["problems"] == {"over_length": 1, "invalid_json": 1, "missing_assistant_turn": 1, "invalid_record": 1}
    assert r["errors"] == 3 and r["warnings"] == 1
    assert r["first_problems"][0] == "sft.jsonl:2: over_length"


def test_estimate_from_first_principles(tmp_path):
    assert parse_params("Qwen/Qwen2.5-0.5B") == 5e8 and parse_params("llama-7b-hf") == 7e9
    assert parse_params("gpt2-350M") == 3.5e8 and parse_params("plain") is None
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("word " * 4000)
    cfg = Config.model_validate({"name": "e", "persona": {"name": "P"}, "sources": [{"path": str(src)}],
                                 "model": {"base": "org/Some-7B"}, "run_dir": str(tmp_path / "run"),
                                 "estimate": {"gpu_tflops": 1000, "mfu": 0.5, "gpu_hour_price": 2.0}})
    g = gpu_estimate(cfg, tokens=1_000_000, epochs=2, method="full", params=7e9)
    assert g["flops"] == 6 * 7e9 * 1e6 * 2
    assert abs(g["gpu_hours"] - 6 * 7e9 * 2e6 / (1000e12 * 0.5) / 3600) < 1e-3
    assert g["memory_gb"] > 100 and g["gpus_needed"] == 2  # 16 bytes/param × 7B > one 80 GB GPU
    assert gpu_estimate(cfg, 1_000_000, 1, "qlora", 7e9)["memory_gb"] < 6
    est = estimate(cfg)
    assert est["corpus"]["persona"]["chars"] == 20000 and est["corpus"]["persona"]["words"] == 4000
    assert est["corpus"]["persona"]["tokens"] == 5000 and not est["corpus_exact"]  # chars/4 without a tokenizer
    assert est["model_params"] == 7e9 and est["training"]["sft"]["method"] == "lora"
    t = est["teacher"]
    assert t["total_requests"] == sum(t["requests"].values()) > 0
    expected = (t["prompt_tokens"] * 0.15 + t["completion_tokens"] * 0.60) / 1e6
    assert abs(t["cost_usd"] - expected) < 1e-4
