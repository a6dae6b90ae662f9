"""Which weights a recipe trains: all of them, a LoRA adapter, a QLoRA adapter on a 4-bit
base, or only the last layers and the head ("freeze", the transfer-learning recipe)."""

from __future__ import annotations

from dataclasses import dataclass, field

from doppel.config import LoraSettings
from doppel.errors import UserError
from doppel.modeling.loading import ModelSource, load_model
from doppel.train.lora import lora_config

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


def untrained_rows(model, ids: list[int]) -> list[int]:
    """Ids whose input-embedding rows look untrained: far smaller than a typical row.

    Base models often reserve chat tokens whose rows were never updated (near zero).
    """
    import torch

    weight = model.get_input_embeddings().weight
    norms = weight.detach().float().norm(dim=-1)
    floor = 0.05 * float(torch.median(norms))
    return [i for i in ids if float(norms[i]) < floor]


def embedding_modules(model) -> list[str]:
    """Names (as PEFT matches them) of the input embedding and the output head."""
    wanted = {id(model.get_input_embeddings()), id(model.get_output_embeddings())}
    return sorted({name.split(".")[-1] for name, module in model.named_modules() if id(module) in wanted})


@dataclass
class Prepared:
    model: object
    tokenizer: object
    added_tokens: list[int] = field(default_factory=list)  # added to the vocabulary in this run
    untrained: list[int] = field(default_factory=list)  # template tokens whose rows start untrained
    trained: list[int] = field(default_factory=list)  # token rows this method updates


def _template(model, tokenizer, choice: str) -> tuple[list[int], list[int]]:
    """Apply the chat template choice; (added ids, untrained template token ids)."""
    from doppel.modeling.templates import choose_template, template_token_ids

    added = choose_template(tokenizer, model, choice)
    used = list(template_token_ids(tokenizer).values())
    return added, sorted(set(added) | set(untrained_rows(model, used)))


def prepare(base: ModelSource, method: str, lora: LoraSettings, last_layers: int, device: str,
            template: str | None = None, train_new_tokens: bool = True, train_embeddings: bool = False) -> Prepared:
    """The model ready to train for `method` on `base`, with the chat template applied if given.

    `train_embeddings` makes a LoRA adapter train the embeddings and head too (in full).
    """
    from doppel.modeling.device import weights_dtype
    from doppel.modeling.templates import ensure_pad

    if method == "qlora":
        model, tokenizer = load_4bit(base)
    else:
        model, tokenizer = load_model(base, device=device, dtype=weights_dtype(device, method), trainable=True)
    ensure_pad(tokenizer)
    added, untrained = _template(model, tokenizer, template) if template else ([], [])
    trained: list[int] = []
    if method in ADAPTER_METHODS:
        from peft import get_peft_model

        save = embedding_modules(model) if (untrained and train_new_tokens) or train_embeddings else []
        trained = list(range(len(tokenizer))) if save else []
        model = get_peft_model(model, lora_config(lora, save, model))
    elif method == "freeze":
        freeze_all_but_last(model, last_layers)
        tied = model.get_input_embeddings().weight is model.get_output_embeddings().weight
        trained = list(range(len(tokenizer))) if tied else []
    else:
        trained = list(range(len(tokenizer)))
    return Prepared(model, tokenizer, added, untrained, trained)


def token_rows(tokenizer, tokens: list[str], key: str) -> list[int]:
    """The vocabulary rows of words or tokens: every piece of the word, with and without a leading space."""
    vocab = tokenizer.get_vocab()
    rows: set[int] = set()
    for token in tokens:
        if token in vocab:
            rows.add(vocab[token])
            continue
        found = {i for text in (token, " " + token) for i in tokenizer(text, add_special_tokens=False)["input_ids"]}
        if not found:
            raise UserError(f"{key}: '{token}' is no token of the tokenizer and encodes to nothing; remove it")
        rows |= found
    return sorted(rows)


def embedding_optimizer(model, learning_rate: float, weight_decay: float, embedding_learning_rate: float | None,
                        rows: list[int] | None):
    """AdamW with the embeddings and head in a group of their own learning rate.

    With `rows`, the gradient of every other row is zeroed and that group has no weight
    decay, so those rows stay byte-identical (Adam moves nothing whose gradient was always 0).
    """
    import torch

    embed = {id(p): p for m in (model.get_input_embeddings(), model.get_output_embeddings()) if m is not None
             for p in m.parameters() if p.requires_grad}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in embed]
    if rows is not None:
        for p in embed.values():
            mask = torch.zeros(p.shape[0], 1, device=p.device)
            mask[rows] = 1.0
            p.register_hook(lambda grad, mask=mask: grad * mask.to(grad.dtype))
    groups = [{"params": rest, "lr": learning_rate, "weight_decay": weight_decay},
              {"params": list(embed.values()),
               "lr": learning_rate if embedding_learning_rate is None else embedding_learning_rate,
               "weight_decay": 0.0 if rows is not None else weight_decay}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=learning_rate)
