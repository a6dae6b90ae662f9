"""Frozen lower layers run once per row: their output is kept and reused in later epochs.

When only the last decoder layers train (LoRA `last_layers`, or the freeze method without a
tied head), the hidden states entering the first trained layer are a fixed function of a row's
tokens and positions: nothing below them changes, and with no dropout nothing below them is
random. The first time a row is seen the whole model runs, as always, and a pre-hook on the
first trained layer keeps those states (detached, in CPU memory, up to a byte budget); from
then on a batch whose rows are all kept runs the trained layers only, fed the kept states as
`inputs_embeds` with the same positions and mask. The loss and gradients are the same
(tests/modeling/test_frozen_prefix.py); a step of the second epoch skips the frozen layers'
forward pass, which on SmolLM2-135M with the last 8 of 30 layers trained is most of it
(bench/lean_loss.py --prefix-cache).

Rows are recognised by their token ids and position ids (a row padded differently in another
batch is simply run in full again).
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager

# Config attributes that, when non-zero, make the frozen layers random in training mode.
_DROPOUT_SUFFIXES = ("dropout", "pdrop", "drop_rate")


def first_trained_layer(decoder) -> int | None:
    """Index of the lowest decoder layer with a trainable parameter, when everything before it
    (embeddings included) is frozen; None when there is nothing to keep (layer 0 trains, the
    embeddings train, or no layer trains)."""
    layers = getattr(decoder, "layers", None)
    if layers is None or not hasattr(decoder, "norm"):
        return None
    trained = [i for i, layer in enumerate(layers) if any(p.requires_grad for p in layer.parameters())]
    if not trained or trained[0] == 0:
        return None
    # Outside the layers only the final norm may train (it runs after them): trained
    # embeddings would change the kept states every step.
    inside = {id(p) for module in (layers, decoder.norm) for p in module.parameters()}
    if any(p.requires_grad for p in decoder.parameters() if id(p) not in inside):
        return None
    return trained[0]


def has_dropout(config) -> bool:
    for name, value in vars(config).items():
        if name.endswith(_DROPOUT_SUFFIXES) and isinstance(value, (int, float)) and value > 0:
            return True
    return False


class FrozenPrefix:
    """The kept hidden states of a decoder's frozen lower layers, by row."""

    def __init__(self, decoder, start: int, budget_bytes: int):
        self.decoder, self.start, self.budget = decoder, start, budget_bytes
        self.store: dict[bytes, object] = {}
        self.used = 0
        self.hits = self.misses = 0
        self._pending: list[bytes] | None = None
        decoder.layers[start].register_forward_pre_hook(self._keep, with_kwargs=True)

    @staticmethod
    def keys(input_ids, position_ids, attention_mask=None) -> list[bytes]:
        """A row's key: everything its hidden states depend on (tokens, positions, which tokens it
        may attend to)."""
        rows = []
        for i in range(input_ids.shape[0]):
            h = hashlib.blake2b(input_ids[i].cpu().numpy().tobytes(), digest_size=16)
            for part in (position_ids, attention_mask):
                h.update(b"|" if part is None else part[i].cpu().numpy().tobytes())
            rows.append(h.digest())
        return rows

    def _keep(self, module, args, kwargs):
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        hidden = args[0] if args else kwargs.get("hidden_states")
        if hidden is None:
            return None
        for key, row in zip(pending, hidden.detach()):
            size = row.numel() * row.element_size()
            if key not in self.store and self.used + size <= self.budget:
                self.store[key] = row.to("cpu", copy=True)
                self.used += size
        return None

    def decode(self, **inputs):
        """The decoder's output for these inputs: only the trained layers when every row is kept."""
        ids = inputs.get("input_ids")
        if ids is None or self.decoder.training is False:
            return self.decoder(**inputs)
        mask = inputs.get("attention_mask")
        keys = self.keys(ids, inputs.get("position_ids"), mask if getattr(mask, "dim", lambda: 0)() == 2 else None)
        if all(k in self.store for k in keys):
            import torch

            self.hits += 1
            embeds = torch.stack([self.store[k] for k in keys]).to(ids.device)
            rest = {k: v for k, v in inputs.items() if k not in ("input_ids", "inputs_embeds")}
            with self._upper_layers():
                return self.decoder(inputs_embeds=embeds, **rest)
        self.misses += 1
        self._pending = keys
        try:
            return self.decoder(**inputs)
        finally:
            self._pending = None

    @contextmanager
    def _upper_layers(self):
        import torch

        full = self.decoder.layers
        self.decoder.layers = torch.nn.ModuleList(list(full)[self.start:])
        try:
            yield
        finally:
            self.decoder.layers = full

    def stats(self) -> dict:
        return {"from_layer": self.start, "rows_kept": len(self.store), "mb": round(self.used / 2**20, 1),
                "cached_steps": self.hits, "full_steps": self.misses}


def attach(lm, budget_mb: int) -> FrozenPrefix | None:
    """A FrozenPrefix for the causal LM `lm` when its lower layers are frozen and deterministic."""
    if budget_mb <= 0:
        return None
    decoder = lm.get_decoder()
    start = first_trained_layer(decoder)
    if start is None or has_dropout(lm.config):
        return None
    return FrozenPrefix(decoder, start, budget_mb * 2**20)
