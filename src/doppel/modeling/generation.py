"""Chat generation through the tokenizer's chat template.

Streaming lives in one place, the serving engines (serve/engines.py), which build on
`generation_kwargs`.
"""

from __future__ import annotations

from doppel.config import GenerationSettings
from doppel.modeling.tokenizer import end_of_turn_ids


def _inputs(tokenizer, messages: list[dict], device):
    enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    return {k: v.to(device) for k, v in enc.items()}


def _kwargs(tokenizer, settings: GenerationSettings) -> dict:
    kw = dict(max_new_tokens=settings.max_new_tokens, do_sample=settings.do_sample,
              repetition_penalty=settings.repetition_penalty,
              eos_token_id=end_of_turn_ids(tokenizer), pad_token_id=tokenizer.pad_token_id)
    if settings.do_sample:
        kw.update(temperature=settings.temperature, top_p=settings.top_p)
    return kw


def generate_reply(model, tokenizer, messages: list[dict], settings: GenerationSettings,
                   seed: int | None = None) -> str:
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    inputs = _inputs(tokenizer, messages, model.device)
    with torch.no_grad():
        out = model.generate(**inputs, **_kwargs(tokenizer, settings))
    new = out[0, inputs["input_ids"].shape[1]:]
    return tokenizer.decode(new, skip_special_tokens=True).strip()


def generate_with_finish(model, tokenizer, prompt_ids: list[int], settings: GenerationSettings,
                         seed: int | None = None) -> tuple[str, str, int]:
    """(reply text, "stop" or "length", generated token count) for an already tokenized prompt."""
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    ids = torch.tensor([prompt_ids], device=model.device)
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **_kwargs(tokenizer, settings))
    new = out[0, ids.shape[1]:].tolist()
    stops = set(end_of_turn_ids(tokenizer))
    finish = "stop" if new and new[-1] in stops else "length"
    if finish == "stop":
        new = new[:-1]
    return tokenizer.decode(new, skip_special_tokens=True).strip(), finish, len(new) + (finish == "stop")


def generation_kwargs(tokenizer, settings: GenerationSettings) -> dict:
    """The keyword arguments `model.generate` gets for these settings (stops at end of turn)."""
    return _kwargs(tokenizer, settings)
