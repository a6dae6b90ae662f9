"""The chat format of a model, in one place: every stage that formats a conversation asks here.

The rules:
- Which template. A model's own template is used as it is (`auto`): a Llama 3, Qwen or
  SmolLM base keeps its format. Only a tokenizer with no template gets ChatML; `chatml`,
  `llama3` or `mistral` force one of Doppel's (adding its special tokens, whose new
  embedding rows must then be trained).
- Which tokens carry the loss. With `{% generation %}` markers transformers gives the mask.
  Any other template is rendered with and without each assistant turn: the characters the
  turn adds, up to and including its end-of-turn token, are the assistant's, and the
  tokens covering them are masked in. The preflight checks on a probe conversation that the
  mask covers exactly each answer and its end-of-turn token.
- Who is speaking when nobody says. A template's built-in default system prompt ("You are a
  helpful AI assistant named SmolLM…") never speaks for the persona: the persona's system
  prompt is put into the template as the default for conversations without a system
  message, and that template travels with the model (training, evaluation, chat, serving,
  the GGUF's stored template; the Modelfile's SYSTEM line).
- Padding. A base without a pad token gets an existing token as pad (a reserved pad token,
  else unk, else the end-of-sequence token): no embedding row is added, and every recipe
  masks padding by position, never by id, so nothing the model learned changes.
"""

from __future__ import annotations

import json
import re
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
# Reserved tokens some vocabularies keep for padding (Llama 3's, SentencePiece's, ...).
PAD_CANDIDATES = ("<|finetune_right_pad_id|>", "<|pad|>", "<pad>", "[PAD]", "<|padding|>")
PERSONA_BEGIN, PERSONA_END = "{#- doppel: persona default system prompt -#}", "{#- doppel: end -#}"


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
    ensure_pad(tokenizer)
    return [tokenizer.convert_tokens_to_ids(t) for t in missing]


def has_generation_markers(template: str | None) -> bool:
    return bool(template) and re.search(r"\{%-?\s*generation\s*-?%\}", template) is not None


def choose_template(tokenizer, model, choice: str) -> list[int]:
    """Give the tokenizer the chat template `choice` asks for; returns ids of tokens it added.

    `auto` keeps the model's own template; ChatML only when the tokenizer has none.
    """
    ensure_pad(tokenizer)
    if choice == "auto":
        if tokenizer.chat_template:
            return []
        choice = "chatml"
    return apply_template(tokenizer, model, choice)


def ensure_pad(tokenizer) -> str | None:
    """Set a pad token from the existing vocabulary when there is none (no new embedding row)."""
    if tokenizer.pad_token is not None:
        return None
    vocab = tokenizer.get_vocab()
    pick = next((t for t in PAD_CANDIDATES if t in vocab), None) or tokenizer.unk_token or tokenizer.eos_token
    if pick is not None:
        tokenizer.pad_token = pick
    return pick


def _render(tokenizer, messages: list[dict], generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def end_of_turn(tokenizer) -> str:
    """The token the template writes right after an assistant's answer (else the eos token)."""
    answer = "I think so."
    text = _render(tokenizer, [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": answer}])
    after = text[text.rfind(answer) + len(answer):]
    special = sorted((t for t in tokenizer.all_special_tokens if t and after.lstrip().startswith(t)),
                     key=len, reverse=True)
    return special[0] if special else tokenizer.eos_token


def assistant_spans(tokenizer, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character span of each assistant turn (answer and end token).

    Each span is what rendering the conversation up to that turn adds to the rendering up to
    its generation prompt, cut after the end-of-turn token (a newline after it is the
    template's, not the answer's).
    """
    full = _render(tokenizer, messages)
    eot = end_of_turn(tokenizer)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:i], generation_prompt=True) if i else ""
        upto = _render(tokenizer, messages[:i + 1])
        if not (full.startswith(upto) and upto.startswith(before)):
            raise UserError("the chat template renders earlier turns differently once later turns follow "
                            "(it is not prefix-stable), so the assistant's tokens cannot be found for the loss; "
                            "set model.chat_template to chatml, llama3 or mistral, or give the template "
                            "{% generation %} markers")
        end = upto.rfind(eot, len(before)) if eot else -1
        spans.append((len(before), end + len(eot) if end >= 0 else len(upto)))
    return full, spans


def assistant_mask(tokenizer, messages: list[dict]) -> tuple[list[int], list[int]]:
    """(token ids, 1 for each token of an assistant turn and its end-of-turn token, else 0)."""
    if has_generation_markers(tokenizer.chat_template):
        enc = tokenizer.apply_chat_template(messages, return_dict=True, return_assistant_tokens_mask=True)
        return list(enc["input_ids"]), list(enc["assistant_masks"])
    text, spans = assistant_spans(tokenizer, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = [int(any(s < end and e > start for start, end in spans)) for s, e in enc["offset_mapping"]]
    return list(enc["input_ids"]), mask


def with_persona_default(template: str, system_prompt: str) -> str:
    """The template with the persona's system prompt as the default for conversations without one.

    Replaces an earlier persona default; the template's own default never renders, because
    every conversation then starts with a system message.
    """
    literal = json.dumps(system_prompt, ensure_ascii=False)[1:-1].replace("\\\"", '"').replace("'", "\\'")
    head = (f"{PERSONA_BEGIN}{{%- if not messages or messages[0]['role'] != 'system' %}}"
            f"{{%- set messages = [{{'role': 'system', 'content': '{literal}'}}] + messages %}}"
            f"{{%- endif %}}{PERSONA_END}")
    return head + without_persona_default(template)


def without_persona_default(template: str) -> str:
    if template.startswith(PERSONA_BEGIN) and PERSONA_END in template:
        return template[template.index(PERSONA_END) + len(PERSONA_END):]
    return template


def template_token_ids(tokenizer) -> dict[str, int]:
    """Special tokens that the tokenizer's template writes into a conversation."""
    rendered = tokenizer.apply_chat_template(PROBE, tokenize=False)
    special = set(tokenizer.all_special_tokens) | set(getattr(tokenizer, "additional_special_tokens", []) or [])
    return {t: tokenizer.convert_tokens_to_ids(t) for t in special if t and t in rendered}


def masked_texts(tokenizer, messages: list[dict]) -> list[str]:
    """The text of each run of consecutive masked-in tokens (one per assistant turn when right)."""
    ids, mask = assistant_mask(tokenizer, messages)
    runs: list[list[int]] = [[]]
    for t, m in zip(ids, mask):
        if m:
            runs[-1].append(t)
        elif runs[-1]:
            runs.append([])
    return [tokenizer.decode(r) for r in runs if r]


def mask_problems(tokenizer, messages: list[dict] = PROBE) -> list[str]:
    """What is wrong with the loss mask on a conversation: each answer and its end-of-turn token
    must be masked in, and nothing else."""
    ids, mask = assistant_mask(tokenizer, messages)
    eot = end_of_turn(tokenizer)
    eot_id = tokenizer.convert_tokens_to_ids(eot)
    masked = [t for t, m in zip(ids, mask) if m]
    if not masked:
        return ["the chat template marks no assistant tokens for the loss (its rendering shows no "
                "assistant turn); set model.chat_template to chatml, llama3 or mistral"]
    if eot_id not in masked:
        return [f"the end-of-turn token {eot!r} is outside the loss mask, so the model would never learn to "
                f"stop; put it inside the template's {{% generation %}} block"]
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    got = [text.strip() for text in masked_texts(tokenizer, messages)]
    want = [a.strip() + eot for a in answers]
    if got != want:
        return [f"the loss mask covers {got!r} instead of exactly the answers and their end-of-turn token "
                f"{want!r}"]
    return []


def preflight(tokenizer, untrained_ids: list[int], trained_ids: list[int]) -> None:
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
        problems += mask_problems(tokenizer)
    if problems:
        raise UserError("chat template preflight failed before training:\n  - " + "\n  - ".join(problems))


def check_same_template(trained_with: str, saved_tokenizer) -> None:
    """The template saved for inference must render exactly like the one trained with."""
    if saved_tokenizer.chat_template != trained_with:
        raise UserError("the chat template saved with the model differs from the one used in training; "
                        "inference would format conversations differently from training. Re-save the "
                        "tokenizer from the training run")
