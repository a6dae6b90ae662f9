"""Batched answer generation for evaluation: fixed settings, a seed per round, left padding,
prompts batched by length."""

from __future__ import annotations

from doppel.config import GenerationSettings
from doppel.modeling.tokenizer import end_of_turn_ids


# The sampling pool: the 50 likeliest tokens (llama.cpp's and transformers' usual default), then
# the nucleus within them; the GGUF rungs sample with the same settings (modeling/llamacpp.py).
TOP_K = 50


class NucleusOfTopK:
    """Temperature, then top-k, then top-p, as transformers' warpers do in that order, and the
    draw itself, in one logits processor run under greedy decoding: it returns scores in which
    only the drawn token is finite. The nucleus is found among the k survivors instead of by
    sorting the whole vocabulary, and the draw is among them instead of over all 49k tokens
    (torch.multinomial over the full vocabulary was a tenth of a decoding step): the same
    distribution, from torch's seeded generator."""

    def __init__(self, temperature: float, k: int, p: float):
        self.temperature, self.k, self.p = temperature, k, p

    def pool(self, scores):
        """(logits, token ids) of the tokens that may be drawn, likeliest first; -inf marks
        those the nucleus leaves out."""
        import torch

        scores = scores / self.temperature
        k = min(self.k, scores.shape[-1]) if self.k > 0 else scores.shape[-1]
        top, index = torch.topk(scores, k, dim=-1)  # sorted, likeliest first
        if self.p < 1.0:
            # A token is out when the tokens likelier than it already hold p of the mass.
            probs = torch.softmax(top, dim=-1)
            before = torch.cumsum(probs, dim=-1) - probs
            top = top.masked_fill(before >= self.p, float("-inf"))
        return top, index

    def __call__(self, input_ids, scores):
        import torch

        top, index = self.pool(scores)
        drawn = index.gather(-1, torch.multinomial(torch.softmax(top, dim=-1), 1))
        return torch.full_like(scores, float("-inf")).scatter_(-1, drawn, 0.0)


def generate_answers(model, tokenizer, conversations: list[list[dict]], settings: GenerationSettings,
                     seed: int, batch_size: int = 16) -> list[str]:
    """One reply per conversation (each ends with a user turn), in order."""
    import torch

    limit = int(getattr(model.config, "max_position_embeddings", 2048) or 2048) - settings.max_new_tokens
    prompts = [tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in conversations]
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # new tokens must follow every prompt directly
    kw = dict(max_new_tokens=settings.max_new_tokens, do_sample=False,
              repetition_penalty=settings.repetition_penalty, eos_token_id=end_of_turn_ids(tokenizer),
              pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)
    if settings.do_sample:
        # The draw happens in NucleusOfTopK; transformers then takes its one finite token.
        kw.update(logits_processor=[NucleusOfTopK(settings.temperature, TOP_K, settings.top_p)])
    threads = torch.get_num_threads()
    if model.device.type == "cpu" and sum(p.numel() for p in model.parameters()) < 50_000_000:
        # Decoding a small model is a chain of tiny matmuls: extra threads only add
        # synchronisation, which on a busy CPU made generation ten times slower (measured).
        torch.set_num_threads(1)
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"][-limit:] for p in prompts]
    # Batches of prompts of similar length: less left padding to run through the model.
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    out: list[str] = [""] * len(encoded)
    try:
        for start in range(0, len(order), batch_size):
            torch.manual_seed(seed + start)
            batch = order[start:start + batch_size]
            enc = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
            enc = {k: v.to(model.device) for k, v in enc.items()}
            with torch.no_grad():
                gen = model.generate(**enc, **kw)
            for i, row in zip(batch, gen[:, enc["input_ids"].shape[1]:]):
                out[i] = tokenizer.decode(row, skip_special_tokens=True).strip()
    finally:
        tokenizer.padding_side = side
        torch.set_num_threads(threads)
    return out
