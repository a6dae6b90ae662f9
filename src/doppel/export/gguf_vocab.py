"""The tokenizer part of a GGUF file: vocabulary, merges, token types, special ids, template.

Byte-level BPE tokenizers (GPT-2 style, Doppel's own, Qwen2's and Llama 3's) are written
as llama.cpp's "gpt2" tokenizer model. The pre-tokenizer (the regex that splits text
before BPE) is named by what it does, not by a hash of a known vocabulary, so a freshly
trained tokenizer is written like any other.
"""

from __future__ import annotations

import json
from pathlib import Path

from doppel.errors import UserError

# The split patterns llama.cpp implements, by the name it knows them under.
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
KNOWN_SPLITS = {GPT2_PATTERN: "gpt-2", QWEN2_PATTERN: "qwen2", LLAMA3_PATTERN: "llama-bpe"}


def pre_tokenizer_name(spec: dict | None, where: str) -> str:
    """llama.cpp's name for the tokenizer.json pre-tokenizer, or a UserError saying why not."""
    if spec is None:
        raise UserError(f"{where}: the tokenizer has no pre-tokenizer; only byte-level BPE tokenizers "
                        f"can be written as GGUF by Doppel")
    if spec.get("type") == "ByteLevel":
        if spec.get("add_prefix_space"):
            raise UserError(f"{where}: a ByteLevel pre-tokenizer with add_prefix_space=true has no "
                            f"llama.cpp equivalent; retrain the tokenizer with add_prefix_space=False")
        if spec.get("use_regex", True):
            return "gpt-2"
    if spec.get("type") == "Sequence":
        parts = spec.get("pretokenizers") or []
        splits = [p for p in parts if p.get("type") == "Split"]
        levels = [p for p in parts if p.get("type") == "ByteLevel"]
        if len(splits) == 1 and len(levels) == 1 and not levels[0].get("use_regex", True):
            pattern = (splits[0].get("pattern") or {}).get("Regex")
            if pattern in KNOWN_SPLITS:
                return KNOWN_SPLITS[pattern]
    raise UserError(f"{where}: pre-tokenizer {json.dumps(spec)[:200]} is not one llama.cpp implements "
                    f"(GPT-2, Qwen2 or Llama 3 byte-level splitting); SentencePiece and other tokenizers "
                    f"need llama.cpp's convert_hf_to_gguf.py")


def _merges(model: dict) -> list[str]:
    return [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]


def _adds_bos(tokenizer) -> bool:
    ids = tokenizer("a")["input_ids"]
    return bool(ids) and tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id


def vocab_tables(tokenizer, vocab_size: int, where: str) -> tuple[list[str], list[int], list[str]]:
    """(tokens by id, token types, merges) of a fast tokenizer, padded to the model's vocab size."""
    from gguf import TokenType

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback"):
        raise UserError(f"{where}: tokenizer model '{model.get('type')}' is not byte-level BPE; Doppel "
                        f"writes GGUF tokenizers for byte-level BPE only")
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


def add_tokenizer(writer, folder: Path, vocab_size: int) -> dict:
    """Add the tokenizer found in `folder` to a GGUFWriter; returns a summary of what was written."""
    from doppel.modeling.tokenizer import end_of_turn_ids, inference_template, load_tokenizer

    where = str(folder)
    tok = load_tokenizer(folder)
    spec = json.loads(tok.backend_tokenizer.to_str())
    pre = pre_tokenizer_name(spec.get("pre_tokenizer"), where)
    tokens, types, merges = vocab_tables(tok, vocab_size, where)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
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
    writer.add_add_eos_token(False)
    template = inference_template(tok.chat_template) if tok.chat_template else None
    if template:
        writer.add_chat_template(template)
    return {"pre_tokenizer": pre, "tokens": len(tokens), "merges": len(merges),
            "eos_id": tok.eos_token_id, "eot_id": eot, "chat_template": bool(template)}
