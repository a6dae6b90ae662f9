"""Perplexity that cannot lie: a known answer, and no number at all over zero tokens."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from doppel.evaluate import perplexity
from doppel.evaluate.perplexity import ZeroTokensError, answer_perplexity, summary


class Uniform(torch.nn.Module):
    """A 'model' whose next-token distribution is uniform over its vocabulary."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab
        self.config = SimpleNamespace(max_position_embeddings=512)
        self.device = torch.device("cpu")

    def forward(self, input_ids, attention_mask=None):
        return SimpleNamespace(logits=torch.zeros(*input_ids.shape, self.vocab))


def test_uniform_logits_give_the_vocabulary_size(tokenizer):
    model = Uniform(len(tokenizer))
    convs = [[{"role": "user", "content": "Why?"}, {"role": "assistant", "content": "Because the tide turns."}]]
    got = answer_perplexity(model, tokenizer, convs)
    assert got["tokens"] > 3
    assert got["perplexity"] == pytest.approx(len(tokenizer), rel=1e-4)
    text = perplexity.text_perplexity(model, tokenizer, ["Mark my words, the lamp stays lit."])
    assert text["perplexity"] == pytest.approx(len(tokenizer), rel=1e-4)


def test_zero_scored_tokens_is_an_error_naming_the_cause(tokenizer):
    with pytest.raises(ZeroTokensError, match="zero scored tokens"):
        summary(0.0, 0)
    model = Uniform(len(tokenizer))
    with pytest.raises(ZeroTokensError, match="held-out split is empty"):
        answer_perplexity(model, tokenizer, [])
    # a known NLL gives its exponential
    assert summary(2 * math.log(7), 2)["perplexity"] == pytest.approx(7, rel=1e-4)


def test_scoring_only_the_labelled_positions_gives_the_full_logits_perplexity(tokenizer, monkeypatch):
    """On a real architecture the output layer runs only at the scored positions; the numbers are
    those of the full logits (rows of different lengths, so padding too)."""
    from doppel.modeling.presets import build_model
    from doppel.modeling import lean_loss

    model = build_model("tiny", tokenizer, seed=0).eval()
    convs = [[{"role": "user", "content": q}, {"role": "assistant", "content": a}]
             for q, a in [("Why?", "Because the tide turns."), ("And the lamp?", "It stays lit, mark my words, all night.")]]
    texts = ["Mark my words, the lamp stays lit.", "Tide comes in, tide goes out, and the kettle sings on."]
    assert lean_loss.has_plain_head(model)
    lean = answer_perplexity(model, tokenizer, convs, batch_size=2), perplexity.text_perplexity(model, tokenizer, texts)
    monkeypatch.setattr(lean_loss, "has_plain_head", lambda lm: False)
    full = answer_perplexity(model, tokenizer, convs, batch_size=2), perplexity.text_perplexity(model, tokenizer, texts)
    for a, b in zip(lean, full):
        assert a["tokens"] == b["tokens"] > 5
        assert a["nll"] == pytest.approx(b["nll"], rel=1e-5)
