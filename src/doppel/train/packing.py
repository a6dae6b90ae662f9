"""Padding-free packing of chat examples for SFT: no example ever attends to another.

Each example is tokenized with its chat template (labels on the assistant tokens only),
then whole examples are placed into rows of `seq_len` tokens by best-fit decreasing.
Inside a row, position ids restart at 0 for every example and no attention mask is passed,
so transformers builds a block-diagonal causal mask from the position ids (SDPA and eager
on CPU and GPU; the varlen kernels with flash attention) — provided no KV cache is built,
hence `use_cache=False` in every batch. A row's unused tail is one more
"example" of padding that carries no loss.

Plain text (pretraining, CPT) is packed differently: `pack_blocks` runs the documents
together and cuts fixed-length blocks.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from doppel.modeling.tokenizer import document_separator


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]


@dataclass
class PackStats:
    examples: int = 0
    rows: int = 0
    tokens: int = 0  # real tokens placed in rows
    loss_tokens: int = 0  # tokens that carry loss (assistant tokens)
    truncated: int = 0  # examples longer than a row, cut to its length
    dropped: dict = field(default_factory=dict)  # reason -> count

    def as_dict(self, seq_len: int) -> dict:
        return {"examples": self.examples, "rows": self.rows, "tokens": self.tokens,
                "loss_tokens": self.loss_tokens, "truncated_examples": self.truncated,
                "dropped": dict(self.dropped),
                "real_token_fraction": round(self.tokens / max(1, self.rows * seq_len), 4)}


def encode_chat(messages: list[list[dict]], tokenizer, seq_len: int, assistant_only: bool = True,
                stats: PackStats | None = None) -> list[Encoded]:
    """Tokenize conversations; labels are -100 outside assistant turns when `assistant_only`.

    Conversations longer than `seq_len` are cut (counted as truncated); ones with no token
    to learn from after the cut are dropped with a reason.
    """
    stats = stats if stats is not None else PackStats()
    out = []
    from doppel.modeling.templates import assistant_mask

    for conv in messages:
        ids, mask = assistant_mask(tokenizer, conv)
        labels = [t if m else -100 for t, m in zip(ids, mask)] if assistant_only else list(ids)
        if len(ids) > seq_len:
            ids, labels = ids[:seq_len], labels[:seq_len]
            stats.truncated += 1
        if all(x == -100 for x in labels[1:]):
            reason = "no assistant tokens within seq_len" if assistant_only else "too short"
            stats.dropped[reason] = stats.dropped.get(reason, 0) + 1
            continue
        out.append(Encoded(ids, labels))
    return out


def pack(examples: list[Encoded], seq_len: int, stats: PackStats | None = None) -> list[list[Encoded]]:
    """Best-fit decreasing: each example (longest first) goes into the row it fills best."""
    stats = stats if stats is not None else PackStats()
    order = sorted(range(len(examples)), key=lambda i: (-len(examples[i].input_ids), i))
    rows: list[list[Encoded]] = []
    free: list[tuple[int, int]] = []  # (space left, row index), sorted
    for i in order:
        ex = examples[i]
        need = len(ex.input_ids)
        at = bisect.bisect_left(free, (need, -1))
        if at < len(free):
            space, row = free.pop(at)
        else:
            space, row = seq_len, len(rows)
            rows.append([])
        rows[row].append(ex)
        if space - need > 0:
            bisect.insort(free, (space - need, row))
        stats.tokens += need
        stats.loss_tokens += sum(1 for x in ex.labels[1:] if x != -100)
    stats.examples += len(examples)
    stats.rows += len(rows)
    return rows


def row_features(row: list[Encoded]) -> dict:
    """One packed row as model inputs: ids, labels and position ids restarting per example."""
    ids: list[int] = []
    labels: list[int] = []
    positions: list[int] = []
    for ex in row:
        ids += ex.input_ids
        # The first token of an example is never a target: it must not be predicted from the
        # previous example (the loss shift would otherwise cross the boundary).
        labels += [-100] + ex.labels[1:]
        positions += list(range(len(ex.input_ids)))
    return {"input_ids": ids, "labels": labels, "position_ids": positions}


class PackedCollator:
    """Stacks packed rows into a batch padded to its longest row; no attention mask (see module doc)."""

    def __init__(self, pad_token_id: int):
        self.pad = pad_token_id

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        batch = {"input_ids": [], "labels": [], "position_ids": []}
        for r in rows:
            gap = width - len(r["input_ids"])
            batch["input_ids"].append(list(r["input_ids"]) + [self.pad] * gap)
            batch["labels"].append(list(r["labels"]) + [-100] * gap)
            batch["position_ids"].append(list(r["position_ids"]) + list(range(gap)))
        out = {k: torch.tensor(v, dtype=torch.long) for k, v in batch.items()}
        # transformers only derives the per-example mask from position ids when no KV cache is
        # made; a model whose config says use_cache would otherwise attend across examples.
        out["use_cache"] = False
        return out


def packed_dataset(conversations: list[list[dict]], tokenizer, seq_len: int, assistant_only: bool = True,
                   pack_rows: bool = True) -> tuple[list[dict], dict]:
    """Encode, pack and lay out rows; returns the rows and packing statistics.

    Without `pack_rows` every example has a row of its own (padded per batch).
    """
    stats = PackStats()
    encoded = encode_chat(conversations, tokenizer, seq_len, assistant_only, stats)
    if pack_rows:
        grouped = pack(encoded, seq_len, stats)
    else:
        grouped = [[ex] for ex in encoded]
        stats.examples, stats.rows = len(encoded), len(encoded)
        stats.tokens = sum(len(ex.input_ids) for ex in encoded)
        stats.loss_tokens = sum(1 for ex in encoded for x in ex.labels[1:] if x != -100)
    rows = [row_features(r) for r in grouped]
    return rows, stats.as_dict(seq_len)


def pack_blocks(texts: list[str], tokenizer, seq_len: int) -> tuple[list[dict], dict]:
    """Concatenate texts (separated by the document token) and cut blocks of `seq_len`.

    The last partial block is padded rather than dropped; its padding is masked from the
    loss. Returns the blocks and packing statistics.
    """
    sep = document_separator(tokenizer)
    ids: list[int] = []
    for enc in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        ids.extend(enc)
        ids.append(sep)
    blocks = []
    for start in range(0, len(ids), seq_len):
        chunk = ids[start:start + seq_len]
        real = len(chunk)
        pad = seq_len - real
        blocks.append({
            "input_ids": chunk + [tokenizer.pad_token_id] * pad,
            "labels": chunk + [-100] * pad,
            "attention_mask": [1] * real + [0] * pad,
        })
    stats = {"tokens": len(ids), "blocks": len(blocks),
             "real_token_fraction": round(len(ids) / max(1, len(blocks) * seq_len), 4)}
    return blocks, stats
