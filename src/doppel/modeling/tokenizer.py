"""Byte-level BPE tokenizer training and the ChatML chat template.

The template marks assistant content (and its end-of-turn token) with
`{% generation %}` so TRL's assistant-only loss trains on the person's words alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

BOS = "<|endoftext|>"  # also separates documents in packed pretraining blocks
PAD = "<|pad|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"  # end of turn: generation stops here
SPECIAL_TOKENS = [BOS, PAD, IM_START, IM_END]

CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2):
    """Train a byte-level BPE tokenizer and wrap it for transformers with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=IM_END,
        pad_token=PAD,
        additional_special_tokens=[IM_START],
        model_max_length=4096,
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    from doppel.errors import UserError

    try:
        return AutoTokenizer.from_pretrained(str(path))
    except OSError as err:
        raise UserError(f"could not load a tokenizer from '{path}': {err}. Check the path or "
                        f"model name (this machine may have no network access to a hub)") from None


def document_separator(tokenizer) -> int:
    """The token put between documents in packed blocks (and before each held-out text scored):
    <|endoftext|> where the vocabulary has it, else the end-of-sequence token.

    A vocabulary without it maps it to the unknown token; but SmolLM2's unknown token *is*
    <|endoftext|>, so the id is kept when it spells BOS itself (the GGUF rungs pick it the
    same way: evaluate/gguf_model.py)."""
    tid = tokenizer.convert_tokens_to_ids(BOS)
    if tid is None or (tid == tokenizer.unk_token_id and tokenizer.convert_ids_to_tokens(tid) != BOS):
        return tokenizer.eos_token_id
    return tid


def end_of_turn_ids(tokenizer) -> list[int]:
    """Token ids that end a generated answer."""
    ids = {tokenizer.eos_token_id}
    tid = tokenizer.convert_tokens_to_ids(IM_END)
    if isinstance(tid, int) and tid != tokenizer.unk_token_id:
        ids.add(tid)
    return sorted(i for i in ids if i is not None)


def inference_template(template: str) -> str:
    """The chat template without transformers' `{% generation %}` training markers.

    Those markers only tell the trainer which tokens are the assistant's; other Jinja
    engines (llama.cpp, llama-cpp-python) do not know the tag and would refuse the template.
    """
    import re

    return re.sub(r"\{%-?\s*(end)?generation\s*-?%\}", "", template)
