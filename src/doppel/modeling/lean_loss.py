"""The training forward pass of recipes that need only the loss of their labelled tokens.

A causal LM computes full-vocabulary logits at every position, then the loss at the labelled
ones. For SFT with an assistant-only loss most positions are unlabelled (system prompt,
questions, padding), and on a real base the output layer is large: on SmolLM2-135M (vocabulary
49,152) the output layer and cross-entropy over 8 x 256 positions cost about as much as the
30 decoder layers' forward pass on a CPU (measured: 4.4 s against 5.0 s; bench/lean_loss.py
times the whole step: 1.33x faster). So, while training with labels,
the decoder's hidden states are taken, the output layer runs only where a label is, and the
loss is the same cross-entropy (summed over the labelled tokens, divided by the trainer's
`num_items_in_batch` when it passes one, else their count): what the model's own loss computes.

Only architectures whose logits are exactly `lm_head(hidden)` take this path (no logit
scaling or soft-capping); the rest, and eval mode, and calls without labels, get the model's
own forward with its logits dropped from the output (the trainers read only the loss).
"""

from __future__ import annotations

import functools

# Model types whose causal-LM head is a plain linear layer on the decoder's final hidden state.
PLAIN_HEAD = frozenset({"llama", "mistral", "qwen2", "qwen3", "phi3", "smollm3", "olmo2", "starcoder2"})


def causal_lm(model):
    """The transformers causal-LM module inside a PEFT wrapper (or the model itself)."""
    inner = model
    while hasattr(inner, "get_base_model"):
        inner = inner.get_base_model()
    return inner


def has_plain_head(lm) -> bool:
    config = getattr(lm, "config", None)
    if getattr(config, "model_type", None) not in PLAIN_HEAD:
        return False
    return (callable(getattr(lm, "get_decoder", None)) and getattr(lm, "lm_head", None) is not None
            and not getattr(config, "final_logit_softcapping", None))


def labelled_loss(lm, labels, num_items_in_batch=None, prefix=None, **inputs):
    """Cross-entropy of the next token at every labelled position, with the output layer applied
    only there. Returns (loss, number of labelled tokens). `prefix`: a frozen_prefix.FrozenPrefix
    that runs the decoder (its frozen lower layers once per row)."""
    import torch

    decode = prefix.decode if prefix is not None else lm.get_decoder()
    hidden = decode(**inputs).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    logits = lm.lm_head(hidden[:, :-1][keep]).float()
    total = torch.nn.functional.cross_entropy(logits, targets[keep], reduction="sum")
    count = int(keep.sum())
    divisor = num_items_in_batch if num_items_in_batch is not None else max(count, 1)
    if torch.is_tensor(divisor):
        divisor = divisor.to(total.device)
    return total / divisor, count


def lean_training_forward(model, prefix_cache_mb: int = 0):
    """While training with labels, return only the loss, computed where the labels are.

    In eval mode, or without labels (preference and RL trainers, which read the logits), the
    model's output is unchanged. Calling it twice wraps once. With `prefix_cache_mb` > 0 and a
    plain head, the frozen lower layers' output is kept per row, up to that many MiB, and reused
    (frozen_prefix.py); returns that cache, or None.
    """
    if getattr(model, "_doppel_lean_forward", False):
        return getattr(model, "_doppel_prefix", None)
    lm = causal_lm(model)
    plain = has_plain_head(lm)
    prefix = None
    if plain and prefix_cache_mb > 0:
        from doppel.modeling.frozen_prefix import attach

        prefix = attach(lm, prefix_cache_mb)
    inner = lm.forward

    @functools.wraps(inner)
    def forward(*args, **kwargs):
        labels = kwargs.get("labels")
        if not (lm.training and labels is not None):
            return inner(*args, **kwargs)
        if plain and not args and kwargs.get("inputs_embeds") is None:
            from transformers.modeling_outputs import CausalLMOutputWithPast

            kwargs = {k: v for k, v in kwargs.items() if k not in ("labels", "logits_to_keep", "return_dict")}
            kwargs["use_cache"] = False
            loss, _ = labelled_loss(lm, labels, kwargs.pop("num_items_in_batch", None), prefix, **kwargs)
            return CausalLMOutputWithPast(loss=loss)
        out = inner(*args, **kwargs)
        if getattr(out, "loss", None) is not None:
            out = type(out)(**{k: v for k, v in out.items() if k != "logits"})
        return out

    lm.forward = forward
    model._doppel_lean_forward = True
    model._doppel_prefix = prefix
    return prefix
