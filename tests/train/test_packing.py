"""SFT packing: whole examples in rows, nothing lost, and no example attends to another."""

import random

import torch

from doppel.train.packing import PackedCollator, encode_chat, pack, packed_dataset, row_features


def conversations(n: int, seed: int = 0) -> list[list[dict]]:
    rng = random.Random(seed)
    words = "tide lamp harbour porridge stubborn town keeps mark words plain gull net rope".split()
    return [[{"role": "system", "content": "You are Mara."},
             {"role": "user", "content": " ".join(rng.choices(words, k=rng.randint(2, 12))) + "?"},
             {"role": "assistant", "content": " ".join(rng.choices(words, k=rng.randint(3, 40))) + "."}]
            for _ in range(n)]


def test_every_example_lands_once_whole_and_rows_are_nearly_full(tokenizer):
    convs = conversations(200)
    encoded = encode_chat(convs, tokenizer, seq_len=256)
    rows = pack(encoded, 256)
    placed = sorted(tuple(ex.input_ids) for row in rows for ex in row)
    assert placed == sorted(tuple(ex.input_ids) for ex in encoded)
    assert all(sum(len(ex.input_ids) for ex in row) <= 256 for row in rows)
    features, stats = packed_dataset(convs, tokenizer, 256)
    assert stats["examples"] == 200 and stats["truncated_examples"] == 0 and not stats["dropped"]
    assert stats["real_token_fraction"] >= 0.95
    assert sum(len(f["input_ids"]) for f in features) == stats["tokens"]


def test_labels_are_the_assistant_tokens_and_never_cross_a_boundary(tokenizer):
    convs = conversations(6, seed=1)
    encoded = encode_chat(convs, tokenizer, seq_len=512)
    row = row_features(encoded)
    start = 0
    for ex, conv in zip(encoded, convs):
        n = len(ex.input_ids)
        assert row["position_ids"][start:start + n] == list(range(n))
        assert row["labels"][start] == -100  # never predicted from the previous example
        target = [t for t in row["labels"][start:start + n] if t != -100]
        assert tokenizer.decode(target).strip().startswith(conv[2]["content"])  # the answer (+ end of turn)
        start += n


def test_a_packed_row_gives_each_example_the_logits_it_has_alone(tokenizer, tiny_model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="sdpa").eval()
    encoded = encode_chat(conversations(4, seed=2), tokenizer, seq_len=512)
    row = row_features(encoded)
    batch = PackedCollator(tokenizer.pad_token_id)([row, row_features(encoded[:1])])
    assert "attention_mask" not in batch and batch["use_cache"] is False
    with torch.no_grad():
        packed = model(**batch).logits
        start = 0
        for ex in encoded:
            alone = model(input_ids=torch.tensor([ex.input_ids])).logits[0]
            n = len(ex.input_ids)
            torch.testing.assert_close(packed[0, start:start + n], alone, atol=1e-4, rtol=1e-4)
            start += n
        # The shorter second row is padded as a separate segment that cannot change it.
        alone = model(input_ids=torch.tensor([encoded[0].input_ids])).logits[0]
        torch.testing.assert_close(packed[1, :len(encoded[0].input_ids)], alone, atol=1e-4, rtol=1e-4)
    assert (batch["labels"][1, len(encoded[0].input_ids):] == -100).all()


def test_overlong_examples_are_cut_and_counted_and_answerless_ones_dropped(tokenizer):
    long = [{"role": "user", "content": "why?"}, {"role": "assistant", "content": "because " * 300}]
    late = [{"role": "user", "content": "word " * 300}, {"role": "assistant", "content": "yes"}]
    rows, stats = packed_dataset([long, late], tokenizer, 64)
    assert stats["truncated_examples"] == 2
    assert stats["dropped"] == {"no assistant tokens within seq_len": 1}
    assert len(rows) == 1 and len(rows[0]["input_ids"]) == 64


def test_without_packing_each_example_has_its_own_row(tokenizer):
    rows, stats = packed_dataset(conversations(10), tokenizer, 256, pack_rows=False)
    assert len(rows) == stats["rows"] == 10
    assert stats["real_token_fraction"] < 0.6
