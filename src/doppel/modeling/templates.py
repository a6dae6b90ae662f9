"""Chat templates for base models, and the preflight check that runs before any training.

A base model has no chat format. Choosing one adds its special tokens (whose embedding
rows must then be trained) and its Jinja template; the preflight fails the run before
training when a template token would stay untrained, the end-of-turn token falls outside
the loss mask, or the tokenizer that will be saved renders differently from the one used
for training.
"""

from __future__ import annotations

from dataclasses import dataclass

from doppel.errors import UserError
from doppel.modeling.tokenizer import CHATML_TEMPLATE, IM_END, IM_START


@dataclass(frozen=True)
class Template:
    jinja: str
    special_tokens: tuple[str, ...]  # tokens the template writes that must be single tokens
    end_of_turn: str


LLAMA3_TEMPLATE = (
    "{{- '<|begin_of_text|>' }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{%- generation %}{{- message['content'] + '<|eot_id|>' }}{%- endgeneration %}"
    "{%- else %}{{- message['content'] + '<|eot_id|>' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)

# Mistral's [INST] format; a system prompt is folded into the first user turn.
MISTRAL_TEMPLATE = (
    "{%- set system = messages[0]['content'] if messages and messages[0]['role'] == 'system' else '' %}"
    "{%- for message in messages if message['role'] != 'system' %}"
    "{%- if message['role'] == 'user' %}"
    "{{- '[INST] ' + ((system + '\\n\\n') if system and loop.first else '') + message['content'] + ' [/INST]' }}"
    "{%- else %}{%- generation %}{{- ' ' + message['content'] + '</s>' }}{%- endgeneration %}{%- endif %}"
    "{%- endfor %}"
)

TEMPLATES = {
    "chatml": Template(CHATML_TEMPLATE, (IM_START, IM_END), IM_END),
    "llama3": Template(LLAMA3_TEMPLATE, ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                                         "<|eot_id|>"), "<|eot_id|>"),
    "mistral": Template(MISTRAL_TEMPLATE, ("[INST]", "[/INST]", "</s>"), "</s>"),
}

PROBE = [{"role": "system", "content": "You are the person."},
         {"role": "user", "content": "What do you think?"},
         {"role": "assistant", "content": "I think so."},
         {"role": "user", "content": "Why?"},
         {"role": "assistant", "content": "Because."}]


def apply_template(tokenizer, model, name: str) -> list[int]:
    """Give a tokenizer the named template; returns ids of special tokens it had to add.

    The model's embeddings are resized for new tokens; those rows start untrained.
    """
    template = TEMPLATES[name]
    vocab = tokenizer.get_vocab()
    missing = [t for t in template.special_tokens if t not in vocab]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing})
        model.resize_token_embeddings(len(tokenizer))
    tokenizer.chat_template = template.jinja
    if tokenizer.convert_tokens_to_ids(template.end_of_turn) != tokenizer.eos_token_id:
        tokenizer.eos_token = template.end_of_turn
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return [tokenizer.convert_tokens_to_ids(t) for t in missing]


def template_token_ids(tokenizer) -> dict[str, int]:
    """Special tokens that the tokenizer's template writes into a conversation."""
    rendered = tokenizer.apply_chat_template(PROBE, tokenize=False)
    special = set(tokenizer.all_special_tokens) | set(getattr(tokenizer, "additional_special_tokens", []) or [])
    return {t: tokenizer.convert_tokens_to_ids(t) for t in special if t and t in rendered}


def preflight(tokenizer, untrained_ids: list[int], trained_ids: list[int], end_of_turn: str | None = None) -> None:
    """Raise a UserError naming each problem that would make the chat format fail after training."""
    problems = []
    if not tokenizer.chat_template:
        problems.append("the tokenizer has no chat template; set model.chat_template (chatml, llama3 or mistral)")
    else:
        used = template_token_ids(tokenizer)
        for token, tid in sorted(used.items()):
            if tid in untrained_ids and tid not in trained_ids:
                problems.append(f"template token {token!r} (id {tid}) has an untrained embedding and is not "
                                f"among the trained token rows")
        enc = tokenizer.apply_chat_template(PROBE, return_dict=True, return_assistant_tokens_mask=True)
        eot = end_of_turn or tokenizer.eos_token
        eot_id = tokenizer.convert_tokens_to_ids(eot)
        masked = [t for t, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
        if not masked:
            problems.append("the chat template marks no assistant tokens for the loss "
                            "(wrap assistant content in {% generation %}…{% endgeneration %})")
        elif eot_id not in masked:
            problems.append(f"the end-of-turn token {eot!r} is outside the loss mask, so the model would never "
                            f"learn to stop; put it inside the template's {{% generation %}} block")
    if problems:
        raise UserError("chat template preflight failed before training:\n  - " + "\n  - ".join(problems))


def check_same_template(trained_with: str, saved_tokenizer) -> None:
    """The template saved for inference must render exactly like the one trained with."""
    if saved_tokenizer.chat_template != trained_with:
        raise UserError("the chat template saved with the model differs from the one used in training; "
                        "inference would format conversations differently from training. Re-save the "
                        "tokenizer from the training run")
