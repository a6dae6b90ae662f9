"""The tokenizer part of a GGUF file: vocabulary, merges or scores, token types, special ids, template.

Byte-level BPE tokenizers (GPT-2 style: Doppel's own, SmolLM's, Qwen2's and Llama 3's) are
written as llama.cpp's "gpt2" tokenizer model, with the pre-tokenizer llama.cpp knows that
splits text as theirs does (gguf_pretok). SentencePiece-style vocabularies are written as
its "llama" model (byte-fallback BPE: Llama 2, Mistral, Gemma) or its "t5" model (Unigram),
with scores instead of merges (gguf_spm).
"""

from __future__ import annotations

import json
from pathlib import Path

from doppel.errors import UserError
from doppel.export.gguf_pretok import pre_tokenizer_name
from doppel.export.gguf_spm import add_sentencepiece, is_sentencepiece

__all__ = ["add_tokenizer", "pre_tokenizer_name", "vocab_tables"]


def _merges(model: dict) -> list[str]:
    return [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]


def _adds_bos(tokenizer) -> bool:
    ids = tokenizer("a")["input_ids"]
    return bool(ids) and tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id


def _adds_eos(tokenizer) -> bool:
    ids = tokenizer("a")["input_ids"]
    return len(ids) > 1 and tokenizer.eos_token_id is not None and ids[-1] == tokenizer.eos_token_id


def vocab_tables(tokenizer, vocab_size: int, where: str) -> tuple[list[str], list[int], list[str]]:
    """(tokens by id, token types, merges) of a byte-level BPE tokenizer, padded to the model's vocab size."""
    from gguf import TokenType

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback"):
        raise UserError(f"{where}: tokenizer model '{model.get('type')}' is neither byte-level BPE nor a "
                        f"byte-fallback (SentencePiece-style) BPE; Doppel writes GGUF tokenizers for those only. "
                        f"Use llama.cpp's convert_hf_to_gguf.py for others")
    by_id = {i: t for t, i in model["vocab"].items()}
    kinds = {i: TokenType.NORMAL for i in by_id}
    for added in spec.get("added_tokens", []):
        by_id[added["id"]] = added["content"]
        kinds[added["id"]] = TokenType.CONTROL if added.get("special") else TokenType.USER_DEFINED
    if max(by_id) >= vocab_size:
        raise UserError(f"{where}: the tokenizer has ids up to {max(by_id)} but the model's vocab_size "
                        f"is {vocab_size}; the tokenizer does not belong to this model")
    tokens, types = [], []
    for i in range(vocab_size):
        # Rows of the embedding no token uses (vocab padded for speed) get placeholder names.
        tokens.append(by_id.get(i, f"[PAD{i}]"))
        types.append(int(kinds.get(i, TokenType.UNUSED)))
    return tokens, types, _merges(model)


def _add_byte_level(writer, tok, spec: dict, vocab_size: int, where: str) -> dict:
    tokens, types, merges = vocab_tables(tok, vocab_size, where)
    pre = pre_tokenizer_name(spec.get("pre_tokenizer"), where)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    return {"tokenizer_model": "gpt2", "pre_tokenizer": pre, "tokens": len(tokens), "merges": len(merges)}


def _add_special_ids(writer, tok, where: str) -> dict:
    from doppel.modeling.tokenizer import end_of_turn_ids

    if tok.bos_token_id is not None:
        writer.add_bos_token_id(tok.bos_token_id)
    if tok.eos_token_id is None:
        raise UserError(f"{where}: the tokenizer has no eos_token; set one (the end-of-turn token) so "
                        f"generation can stop")
    writer.add_eos_token_id(tok.eos_token_id)
    stops = end_of_turn_ids(tok)
    eot = next((i for i in stops if i != tok.eos_token_id), tok.eos_token_id)
    writer.add_eot_token_id(eot)
    if tok.pad_token_id is not None:
        writer.add_pad_token_id(tok.pad_token_id)
    writer.add_add_bos_token(_adds_bos(tok))
    writer.add_add_eos_token(_adds_eos(tok))
    return {"eos_id": tok.eos_token_id, "eot_id": eot}


def add_tokenizer(writer, folder: Path, vocab_size: int) -> dict:
    """Add the tokenizer found in `folder` to a GGUFWriter; returns a summary of what was written."""
    from doppel.modeling.tokenizer import inference_template, load_tokenizer

    where = str(folder)
    tok = load_tokenizer(folder)
    if not getattr(tok, "is_fast", False) or not hasattr(tok, "backend_tokenizer"):
        raise UserError(f"{where}: the tokenizer has no tokenizer.json (a 'fast' tokenizer); save it with "
                        f"transformers' AutoTokenizer so Doppel can read its vocabulary")
    spec = json.loads(tok.backend_tokenizer.to_str())
    if is_sentencepiece(spec.get("model") or {}):
        summary = add_sentencepiece(writer, tok, spec, vocab_size, where)
    else:
        summary = _add_byte_level(writer, tok, spec, vocab_size, where)
    summary.update(_add_special_ids(writer, tok, where))
    template = inference_template(tok.chat_template) if tok.chat_template else None
    if template:
        writer.add_chat_template(template)
    return {**summary, "chat_template": bool(template)}
