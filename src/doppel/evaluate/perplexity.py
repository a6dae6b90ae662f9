"""Held-out cross-entropy: on the person's unseen text, and on their unseen answers in chat form.

Scoring works on rows of (token ids, labels with -100 for unscored positions); the rows are
built the same way for a transformers model and for a GGUF file in llama.cpp (gguf_model.py),
so their numbers are comparable.
"""

from __future__ import annotations

import math

from doppel.errors import UserError
from doppel.modeling.tokenizer import document_separator


class ZeroTokensError(UserError):
    """A perplexity was asked for over no tokens at all."""


def _score(model, rows: list[tuple[list[int], list[int]]], batch_size: int) -> dict:
    """Sum token NLL over rows of (input_ids, labels with -100 for unscored positions).

    Rows are batched in length order (less padding); where the model's logits are a plain output
    layer on its hidden states, that layer runs only at the scored positions (modeling/lean_loss.py).
    """
    import torch

    from doppel.modeling.lean_loss import causal_lm, has_plain_head, labelled_loss

    lm = causal_lm(model)
    lean = has_plain_head(lm)
    total, count = 0.0, 0
    pad = 0
    ordered = sorted(rows, key=lambda row: len(row[0]))
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start:start + batch_size]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (row_ids, row_labels) in enumerate(batch):
            ids[i, :len(row_ids)] = torch.tensor(row_ids)
            labels[i, :len(row_labels)] = torch.tensor(row_labels)
            mask[i, :len(row_ids)] = 1
        ids, labels, mask = ids.to(model.device), labels.to(model.device), mask.to(model.device)
        with torch.no_grad():
            if lean:
                nll, scored = labelled_loss(lm, labels, 1, input_ids=ids, attention_mask=mask, use_cache=False)
                total += float(nll)
                count += scored
                continue
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
        shift_logits, shift_labels = logits[:, :-1], labels[:, 1:]
        nll = torch.nn.functional.cross_entropy(
            shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
            ignore_index=-100, reduction="sum")
        total += float(nll)
        count += int((shift_labels != -100).sum())
    return summary(total, count)


def summary(total_nll: float, count: int) -> dict:
    """Mean token NLL and perplexity from a summed NLL over `count` scored tokens.

    No scored token is an error, never a perplexity of 1.0 (which would look like the best).
    """
    if count <= 0:
        raise ZeroTokensError("perplexity over zero scored tokens: no held-out text or answer token was "
                              "scored (the held-out split is empty, every answer was cut off by the "
                              "context length, or the chat template marks no assistant tokens)")
    mean = total_nll / count
    return {"nll": round(mean, 5), "perplexity": round(math.exp(mean), 4), "tokens": count}


def text_rows(token_lists: list[list[int]], separator: int, limit: int) -> list[tuple[list[int], list[int]]]:
    """Each text after a document separator (as in pretraining), cut to the context length;
    every token but the separator is scored."""
    rows = []
    for enc in token_lists:
        ids = ([separator] + list(enc))[:limit]
        rows.append((ids, [-100] + ids[1:]))
    return rows


def _max_len(model) -> int:
    return int(getattr(model.config, "max_position_embeddings", 2048) or 2048)


def text_perplexity(model, tokenizer, texts: list[str], batch_size: int = 8) -> dict:
    """Perplexity of plain text, each text starting after a document separator."""
    rows = text_rows(tokenizer(texts, add_special_tokens=False)["input_ids"], document_separator(tokenizer),
                     _max_len(model))
    return _score(model, rows, batch_size)


def answer_perplexity(model, tokenizer, conversations: list[list[dict]], batch_size: int = 8) -> dict:
    """Perplexity of the assistant turns only (the person's answers), given the conversation."""
    limit = _max_len(model)
    rows = []
    from doppel.modeling.templates import assistant_mask

    for messages in conversations:
        ids, mask = assistant_mask(tokenizer, messages)
        ids, mask = ids[:limit], mask[:limit]
        rows.append((ids, [t if m else -100 for t, m in zip(ids, mask)]))
    return _score(model, rows, batch_size)
