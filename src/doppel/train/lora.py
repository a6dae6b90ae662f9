"""The LoRA configuration of a recipe: which modules and layers get adapters."""

from __future__ import annotations

from doppel.config import LoraSettings
from doppel.errors import UserError


def lora_config(settings: LoraSettings, modules_to_save: list[str] | None = None, model=None):
    """LoRA on the configured modules; `modules_to_save` are trained in full (e.g. embeddings).

    New chat-template tokens are trained through the whole embedding and head
    (`modules_to_save`) rather than PEFT's `trainable_token_indices`: TRL's fused LM head reads
    `lm_head.bias`, which PEFT's trainable-tokens wrapper of a tied head does not expose.
    """
    from peft import LoraConfig

    layers, targets = None, settings.target_modules
    if settings.last_layers and model is not None:
        n_layers = model.config.num_hidden_layers
        if settings.last_layers > n_layers:
            raise UserError(f"lora.last_layers is {settings.last_layers} but the model has only {n_layers} layers")
        layers = list(range(n_layers - settings.last_layers, n_layers))
        if targets == "all-linear":  # PEFT takes a layer subset only with named modules
            targets = linear_module_names(model)
    return LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules=targets, task_type="CAUSAL_LM",
                      modules_to_save=modules_to_save or None, layers_to_transform=layers)


def linear_module_names(model) -> list[str]:
    """The names of the decoder's linear layers, as "all-linear" would choose them (not the head)."""
    import torch

    head = model.get_output_embeddings()
    return sorted({name.split(".")[-1] for name, m in model.named_modules()
                   if isinstance(m, torch.nn.Linear) and m is not head and ".layers." in name})
