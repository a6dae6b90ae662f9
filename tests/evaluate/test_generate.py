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


def test_the_one_step_sampler_draws_from_what_transformers_warpers_keep():
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
        sampler = NucleusOfTopK(temperature, k, p)
        top, index = sampler.pool(scores.clone())
        got = torch.full_like(scores, float("-inf")).scatter_(-1, index, top)
        assert torch.equal(torch.isfinite(got), torch.isfinite(want)), (temperature, k, p)
        kept = torch.isfinite(want)
        assert torch.allclose(got[kept], want[kept])
        drawn = sampler(ids, scores.clone())
        assert (torch.isfinite(drawn).sum(-1) == 1).all()  # one token, and one the warpers keep
        assert kept.gather(-1, drawn.argmax(-1, keepdim=True)).all()

    # The draw follows the nucleus's probabilities.
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, -3.0]])
    sampler = NucleusOfTopK(1.0, 4, 0.95)
    top, index = sampler.pool(logits)
    expect = torch.zeros(5).scatter_(0, index[0], torch.softmax(top, -1)[0])
    counts = torch.zeros(5)
    for _ in range(4000):
        counts[sampler(None, logits)[0].argmax()] += 1
    assert counts[4] == 0 and torch.allclose(counts / 4000, expect, atol=0.03)
