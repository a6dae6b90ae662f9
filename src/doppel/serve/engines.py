"""One generation interface over transformers and llama.cpp, used by chat and the HTTP server.

An engine turns a conversation or a raw prompt into token ids, and streams the reply as
text pieces followed by one `Finish` (why it stopped and how many tokens it used). Engines
are not safe to call from two threads at once: callers take turns (the server queues).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from doppel.config import GenerationSettings
from doppel.errors import UserError


@dataclass(frozen=True)
class Finish:
    reason: str  # "stop" (end-of-turn token) or "length"
    prompt_tokens: int
    completion_tokens: int


class Engine(Protocol):
    backend: str
    describe: str
    context_length: int

    def chat_ids(self, messages: list[dict]) -> list[int]: ...

    def text_ids(self, text: str) -> list[int]: ...

    def stream(self, prompt_ids: list[int], settings: GenerationSettings, seed: int | None = None,
               cancel: threading.Event | None = None) -> Iterator[str | Finish]: ...


class HFEngine:
    """transformers `generate` with a text streamer; cancellation through a stopping criterion."""

    backend = "hf"

    def __init__(self, model, tokenizer, describe: str):
        self.model, self.tokenizer, self.describe = model, tokenizer, describe
        self.context_length = int(getattr(model.config, "max_position_embeddings", 2048))

    def chat_ids(self, messages: list[dict]) -> list[int]:
        enc = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                 return_dict=True)
        return list(enc["input_ids"])

    def text_ids(self, text: str) -> list[int]:
        return self.tokenizer(text)["input_ids"]

    def stream(self, prompt_ids, settings, seed=None, cancel=None):
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        from doppel.modeling.generation import generation_kwargs
        from doppel.modeling.tokenizer import end_of_turn_ids

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kw):
                return bool(cancel is not None and cancel.is_set())

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        ids = torch.tensor([prompt_ids], device=self.model.device)
        result: dict = {}

        def work() -> None:
            try:
                if seed is not None:
                    torch.manual_seed(seed)
                with torch.no_grad():
                    result["out"] = self.model.generate(
                        input_ids=ids, attention_mask=torch.ones_like(ids), streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([Cancelled()]), **generation_kwargs(self.tokenizer, settings))
            except BaseException as err:  # surfaced in the caller's thread below
                result["error"] = err
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield piece
        thread.join()
        if "error" in result:
            raise result["error"]
        new = result["out"][0, len(prompt_ids):].tolist()
        stopped = bool(new) and new[-1] in set(end_of_turn_ids(self.tokenizer))
        yield Finish("stop" if stopped else "length", len(prompt_ids), len(new))


class GGUFEngine:
    """llama.cpp through llama-cpp-python; prompts use the chat template stored in the GGUF."""

    backend = "gguf"
    structured = True  # replies can be held to a JSON schema (response_format)

    def __init__(self, path: str | Path, n_ctx: int = 0, threads: int | None = None):
        from doppel.modeling import llamacpp

        llamacpp.quiet()
        self._lc = llamacpp
        self.llm = llamacpp.load_gguf(path, n_ctx=n_ctx, threads=threads)
        self.describe = str(path)
        self.context_length = llamacpp.context_length(self.llm)

    def chat_ids(self, messages: list[dict]) -> list[int]:
        return self._lc.chat_tokens(self.llm, messages)

    def text_ids(self, text: str) -> list[int]:
        ids = self._lc.tokenize(self.llm, text, special=False)
        return [self.llm.token_bos(), *ids] if self._lc.add_bos(self.llm) else ids

    def check_schema(self, schema: dict) -> None:
        """Raise UserError when llama.cpp cannot turn the JSON schema into a grammar."""
        self._lc.json_grammar(schema)

    def stream(self, prompt_ids, settings, seed=None, cancel=None, schema: dict | None = None):
        temperature = settings.temperature if settings.do_sample else 0.0
        pieces, reason = [], "length"
        grammar = self._lc.json_grammar(schema) if schema is not None else None
        for text, finish in self._lc.stream_completion(self.llm, prompt_ids, settings.max_new_tokens, temperature,
                                                        settings.top_p, settings.repetition_penalty, seed, grammar):
            if cancel is not None and cancel.is_set():
                break
            if text:
                pieces.append(text)
                yield text
            reason = finish or reason
        used = len(self._lc.tokenize(self.llm, "".join(pieces), special=False)) + (reason == "stop")
        yield Finish(reason, len(prompt_ids), used)


class EnginePool:
    """Several engines of one model, each generating one reply at a time: `parallel` replies at
    once (the server's slots). Prompts are tokenized by the first engine."""

    def __init__(self, engines: list):
        import queue

        if not engines:
            raise ValueError("an engine pool needs at least one engine")
        self.engines = engines
        self.parallel = len(engines)
        first = engines[0]
        self.backend, self.describe, self.context_length = first.backend, first.describe, first.context_length
        self.structured = all(getattr(e, "structured", False) for e in engines)
        self._free: queue.Queue = queue.Queue()
        for engine in engines:
            self._free.put(engine)

    def chat_ids(self, messages: list[dict]) -> list[int]:
        return self.engines[0].chat_ids(messages)

    def text_ids(self, text: str) -> list[int]:
        return self.engines[0].text_ids(text)

    def check_schema(self, schema: dict) -> None:
        self.engines[0].check_schema(schema)

    def stream(self, prompt_ids, settings, seed=None, cancel=None, **extra):
        engine = self._free.get()  # the server's slots never let more streams run than engines
        try:
            yield from engine.stream(prompt_ids, settings, seed, cancel, **extra)
        finally:
            self._free.put(engine)

