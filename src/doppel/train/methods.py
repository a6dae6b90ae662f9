"""Which weights a recipe trains: all of them, a LoRA adapter, a QLoRA adapter on a 4-bit
base, or only the last layers and the head ("freeze", the transfer-learning recipe)."""

from __future__ import annotations

from doppel.config import LoraSettings
from doppel.errors import UserError
from doppel.modeling.loading import ModelSource, load_model

ADAPTER_METHODS = ("lora", "qlora")


def check_method(method: str, device: str, key: str) -> None:
    """Fail before any loading when the method cannot run on this device."""
    if method == "qlora" and device != "cuda":
        raise UserError(f"{key}.method is 'qlora', which loads the base in 4 bits with bitsandbytes and "
                        f"needs a CUDA GPU; this run is on '{device}'. Use method: lora here, or run "
                        f"on a GPU machine")


def load_4bit(base: ModelSource):
    """The base model quantized to 4-bit NF4 (QLoRA), prepared for adapter training."""
    import torch
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise UserError("method 'qlora' needs the bitsandbytes package: pip install bitsandbytes") from None
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(base.path, quantization_config=quant, device_map={"": 0})
    return prepare_model_for_kbit_training(model), AutoTokenizer.from_pretrained(base.path)


def freeze_all_but_last(model, n_layers: int) -> list[str]:
    """Freeze every parameter except the last `n_layers` decoder layers, final norm and head.

    Returns the names of the trainable parameters. With tied embeddings the head is the
    embedding matrix, so it trains too.
    """
    layers = model.model.layers
    if n_layers > len(layers):
        raise UserError(f"train_last_layers is {n_layers} but the model has only {len(layers)} layers")
    keep = {id(p) for layer in layers[len(layers) - n_layers:] for p in layer.parameters()}
    keep |= {id(p) for p in model.model.norm.parameters()}
    keep |= {id(p) for p in model.get_output_embeddings().parameters()}
    trainable = []
    for name, p in model.named_parameters():
        p.requires_grad = id(p) in keep
        if p.requires_grad:
            trainable.append(name)
    return trainable


def prepare(base: ModelSource, method: str, lora: LoraSettings, last_layers: int, device: str):
    """(model ready to train, tokenizer) for `method` on `base`."""
    if method == "qlora":
        model, tokenizer = load_4bit(base)
    else:
        model, tokenizer = load_model(base, device=device, dtype="float32", trainable=True)
    if method in ADAPTER_METHODS:
        from peft import get_peft_model

        from doppel.train.common import lora_config

        model = get_peft_model(model, lora_config(lora))
    elif method == "freeze":
        freeze_all_but_last(model, last_layers)
    return model, tokenizer
