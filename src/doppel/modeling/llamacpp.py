"""llama.cpp through llama-cpp-python: loading a GGUF, its stored chat template, logits, generation.

The GGUF carries its own tokenizer and chat template; everything here reads them from the
file, so what is measured (parity) and what is served is exactly what a user of the file
gets in llama.cpp, Ollama or LM Studio.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from doppel.errors import UserError

HOW_TO = "install it with: .venv/bin/pip install llama-cpp-python (it compiles llama.cpp, a few minutes)"


def require_llama_cpp():
    try:
        import llama_cpp
    except ImportError:
        raise UserError(f"the llama.cpp backend needs the llama-cpp-python package; {HOW_TO}") from None
    return llama_cpp


def quiet() -> None:
    """llama.cpp logs every tensor it loads or quantizes to stderr; keep errors only."""
    import logging

    require_llama_cpp()
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)


def default_threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def library_has_amx() -> bool:
    """True when the installed llama.cpp was compiled with its AMX matrix kernel (as a default
    build with -march=native is on an AMX CPU). Doppel's install (tools/build_llama.py) compiles
    it without; this guards a user's own build."""
    llama_cpp = require_llama_cpp()
    try:
        info = llama_cpp.llama_print_system_info()
    except Exception:  # an older binding without the call: assume the default build
        return " amx_int8" in _cpuinfo()
    info = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    return "AMX_INT8 = 1" in info


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def micro_batch() -> int:
    """Tokens llama.cpp evaluates per step: a whole prompt batch (512). A llama.cpp compiled with
    its AMX kernel crashed (SIGSEGV in ggml_backend_amx_mul_mat) on quantized files as soon as a
    prompt was read in one batch, so such a build alone gets one token per step (slower prompt
    reading, same results), with a note on how to rebuild; DOPPEL_LLAMA_UBATCH overrides."""
    value = os.environ.get("DOPPEL_LLAMA_UBATCH")
    if value:
        return max(1, int(value))
    if library_has_amx():
        _note_amx_build()
        return 1
    return 512


_NOTED: list[bool] = []


def _note_amx_build() -> None:
    if not _NOTED:
        _NOTED.append(True)
        import sys

        print("note: this llama.cpp was compiled with its AMX kernel, which crashed on batched prompts; "
              "prompts are read one token at a time. Rebuild it without (Doppel's 'make install' does): "
              "CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AMX_INT8=OFF' "
              "pip install --force-reinstall --no-cache-dir --no-deps llama-cpp-python", file=sys.stderr)


def load_gguf(path: str | Path, n_ctx: int = 0, logits_all: bool = False, threads: int | None = None,
              kv_f32: bool = False, lora: str | Path | None = None):
    """A `llama_cpp.Llama` for the file; n_ctx 0 means the model's own context length.

    llama.cpp keeps its attention cache in f16 by default; `kv_f32` keeps it in f32, so a
    comparison with transformers measures the file and not the cache's rounding. `lora` is a
    GGUF LoRA adapter applied on top of the model (scale 1).
    """
    llama_cpp = require_llama_cpp()
    path = Path(path)
    for file in (path, lora):
        if file is not None and not Path(file).exists():
            raise UserError(f"GGUF file {file} does not exist; run 'doppel export RUN_DIR --gguf q8_0' first")
    threads = threads or default_threads()
    quiet()
    cache = {"type_k": llama_cpp.GGML_TYPE_F32, "type_v": llama_cpp.GGML_TYPE_F32} if kv_f32 else {}
    adapter = {"lora_path": str(lora)} if lora is not None else {}
    with _without_native_lines(LORA_BUFFER_NOTE if lora is not None else None):
        return llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_batch=512, n_ubatch=micro_batch(),
                               logits_all=logits_all,
                               n_threads=threads, n_threads_batch=threads, verbose=False, **cache, **adapter)


# llama.cpp prints this for every adapted tensor when the base's weights sit in a repacked (AMX)
# buffer: the adapter then runs from plain CPU memory. It prints it whatever the log level.
LORA_BUFFER_NOTE = "cannot use buft"


@contextmanager
def _without_native_lines(noise: str | None):
    """Run with the process's stderr captured, then pass on every line except those containing `noise`."""
    import sys
    import tempfile

    if noise is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            sys.stderr.write("".join(line for line in text.splitlines(True) if noise not in line))


def context_length(llm) -> int:
    return int(llm.n_ctx())


def add_bos(llm) -> bool:
    return str(llm.metadata.get("tokenizer.ggml.add_bos_token", "false")).lower() == "true"


def tokenize(llm, text: str, special: bool = True) -> list[int]:
    """Token ids of `text` as llama.cpp splits it (special tokens recognised, no BOS added)."""
    return llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)


def _token_text(llm, key: str) -> str:
    tid = llm.metadata.get(key)
    if tid is None:
        return ""
    return llm.detokenize([int(tid)], special=True).decode("utf-8", errors="replace")


def chat_prompt(llm, messages: list[dict], add_generation_prompt: bool = True) -> str:
    """The conversation rendered with the chat template stored in the GGUF."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise UserError("this GGUF has no chat template (tokenizer.chat_template); re-export it with "
                        "'doppel export RUN_DIR'")
    formatter = Jinja2ChatFormatter(template, eos_token=_token_text(llm, "tokenizer.ggml.eos_token_id"),
                                    bos_token=_token_text(llm, "tokenizer.ggml.bos_token_id"),
                                    add_generation_prompt=add_generation_prompt)
    return formatter(messages=messages).prompt


def chat_tokens(llm, messages: list[dict]) -> list[int]:
    ids = tokenize(llm, chat_prompt(llm, messages))
    if add_bos(llm) and llm.token_bos() >= 0:
        ids = [llm.token_bos(), *ids]
    return ids


def logits(llm, tokens: list[int]):
    """Next-token logits after every position (n_tokens × vocab); needs logits_all=True."""
    import numpy as np

    llm.reset()
    llm.eval(tokens)
    return np.array(llm.scores[: len(tokens)], dtype=np.float32)


_GRAMMARS: dict[str, object] = {}


def json_grammar(schema: dict):
    """A llama.cpp grammar that holds replies to the JSON schema (built once per schema)."""
    import json

    from doppel.errors import UserError

    llama_cpp = require_llama_cpp()
    key = json.dumps(schema, sort_keys=True)
    if key not in _GRAMMARS:
        try:
            _GRAMMARS[key] = llama_cpp.LlamaGrammar.from_json_schema(key, verbose=False)
        except Exception as err:  # llama.cpp's converter rejects what it cannot express
            raise UserError(f"llama.cpp cannot turn this JSON schema into a grammar ({err}): {key[:300]}") from None
    return _GRAMMARS[key]


def stream_completion(llm, prompt_tokens: list[int], max_tokens: int, temperature: float, top_p: float,
                      repeat_penalty: float, seed: int | None = None,
                      grammar=None) -> Iterator[tuple[str, str | None]]:
    """(text piece, finish reason or None) as llama.cpp generates; stops at any end-of-generation
    token. With a grammar (json_grammar) the reply follows it."""
    chunks = llm.create_completion(prompt_tokens, max_tokens=max_tokens, temperature=temperature,
                                   top_p=top_p, top_k=50, min_p=0.0, repeat_penalty=repeat_penalty,
                                   seed=seed, stream=True, grammar=grammar)
    for chunk in chunks:
        choice = chunk["choices"][0]
        yield choice.get("text") or "", choice.get("finish_reason")
