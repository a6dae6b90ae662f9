"""Batched generation for evaluation: prompts batched by length, answers returned in the order asked."""

import torch

from doppel.config import GenerationSettings
from doppel.evaluate.generate import generate_answers


class EchoLengthModel(torch.nn.Module):
    """Answers every prompt with one token whose id encodes the prompt's unpadded length, and
    records the batches it was given."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.config = type("Config", (), {"max_position_embeddings": 2048})()
        self.batches: list[list[int]] = []

    @property
    def device(self):
        return torch.device("cpu")

    def generate(self, input_ids, attention_mask, **kwargs):
        lengths = attention_mask.sum(dim=1)
        self.batches.append(lengths.tolist())
        return torch.cat([input_ids, (100 + lengths)[:, None]], dim=1)


def test_answers_come_back_in_the_order_asked_from_batches_of_similar_length(tokenizer):
    questions = ["Hi?", "Tell me everything you remember about the great storm of the old harbour, please?",
                 "Why?", "What do you think about bread and the sea and the way they go together?", "Tides?"]
    convs = [[{"role": "user", "content": q}] for q in questions]
    lengths = [len(tokenizer(tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False),
                             add_special_tokens=False)["input_ids"]) for c in convs]
    model = EchoLengthModel()
    out = generate_answers(model, tokenizer, convs, GenerationSettings(max_new_tokens=1, do_sample=False), 0,
                           batch_size=2)
    assert out == [tokenizer.decode([100 + n], skip_special_tokens=True).strip() for n in lengths]
    assert [n for batch in model.batches for n in batch] == sorted(lengths)  # shortest first, two at a time
    assert [len(b) for b in model.batches] == [2, 2, 1]


def test_the_one_step_sampler_keeps_what_transformers_warpers_keep():
    import torch
    from transformers.generation.logits_process import (TemperatureLogitsWarper, TopKLogitsWarper,
                                                        TopPLogitsWarper)

    from doppel.evaluate.generate import NucleusOfTopK

    torch.manual_seed(0)
    scores = torch.randn(64, 5000) * 4
    ids = torch.zeros(64, 3, dtype=torch.long)
    for temperature, k, p in [(0.7, 50, 0.9), (1.3, 50, 0.5), (0.7, 0, 0.95), (1.0, 10, 1.0)]:
        want = scores.clone()
        for warp in (TemperatureLogitsWarper(temperature), TopKLogitsWarper(k) if k else None, TopPLogitsWarper(p)):
            if warp is not None:
                want = warp(ids, want)
        got = NucleusOfTopK(temperature, k, p)(ids, scores.clone())
        assert torch.equal(torch.isfinite(got), torch.isfinite(want)), (temperature, k, p)
        kept = torch.isfinite(want)
        assert torch.allclose(got[kept], want[kept])
        assert kept.sum(-1).min() >= 1
