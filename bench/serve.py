"""Generation speed of llama.cpp (Q8_0) vs transformers on the same model, and server overhead.

    .venv/bin/python bench/serve.py [RUN_DIR] [--tokens 128] [--requests 30]

RUN_DIR defaults to runs/demo (run `doppel demo` first); its export/merged model is written
as f16 GGUF and quantized to Q8_0 in a temporary folder. Both engines generate greedily
from the same prompt for the same number of tokens (end-of-turn ignored by counting what
was generated). Server overhead: the same 1-token request through the HTTP server (official
`openai` client, keep-alive) minus the engine called directly, median of N requests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doppel.config import GenerationSettings  # noqa: E402

PROMPT = [{"role": "system", "content": "You are Mara Quell."},
          {"role": "user", "content": "What does the sea teach a stubborn town?"}]


def tokens_per_second(engine, ids, tokens: int, repeats: int = 3) -> tuple[float, int]:
    settings = GenerationSettings(max_new_tokens=tokens, do_sample=False, repetition_penalty=1.0)
    best, produced = 0.0, 0
    for _ in range(repeats):
        start = time.perf_counter()
        fin = [item for item in engine.stream(ids, settings) if not isinstance(item, str)][-1]
        elapsed = time.perf_counter() - start
        produced = fin.completion_tokens
        best = max(best, produced / elapsed)
    return best, produced


def overhead_ms(engine, requests: int) -> tuple[float, float, float]:
    from doppel.serve.engines import Finish
    from tests.serve.helpers import client, running, state_for

    one = GenerationSettings(max_new_tokens=1, do_sample=False, repetition_penalty=1.0)
    ids = engine.chat_ids(PROMPT)
    direct = []
    for _ in range(requests):
        start = time.perf_counter()
        list(engine.stream(engine.chat_ids(PROMPT), one))
        direct.append(time.perf_counter() - start)
    import httpx

    through, bare = [], []
    body = {"model": "mara", "messages": PROMPT[1:], "max_tokens": 1, "temperature": 0}
    with running(state_for(engine, max_tokens=8)) as url, httpx.Client() as http:
        api = client(url)
        api.chat.completions.create(**body)  # warm-up
        for _ in range(requests):
            start = time.perf_counter()
            api.chat.completions.create(**body)
            through.append(time.perf_counter() - start)
            start = time.perf_counter()
            http.post(url + "/v1/chat/completions", json=body).raise_for_status()
            bare.append(time.perf_counter() - start)
    assert isinstance(list(engine.stream(ids, one))[-1], Finish)
    return tuple(statistics.median(x) * 1000 for x in (direct, through, bare))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir", nargs="?", default="runs/demo")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--requests", type=int, default=30)
    args = ap.parse_args()

    from doppel.export.gguf import write_gguf
    from doppel.export.quantize import quantize
    from doppel.modeling import quiet_libraries
    from doppel.modeling.loading import ModelSource, load_model
    from doppel.serve.engines import GGUFEngine, HFEngine

    quiet_libraries()
    merged = Path(args.run_dir) / "export" / "merged"
    model, tok = load_model(ModelSource("merged", str(merged)), device="cpu")
    hf = HFEngine(model, tok, str(merged))
    with tempfile.TemporaryDirectory() as tmp:
        f16, q8 = Path(tmp) / "f16.gguf", Path(tmp) / "q8_0.gguf"
        write_gguf(merged, f16, "f16")
        quantize(f16, q8, "q8_0")
        gguf = GGUFEngine(q8)
        ids = hf.chat_ids(PROMPT)
        assert ids == gguf.chat_ids(PROMPT), "the two engines tokenize the prompt differently"
        hf_tps, hf_n = tokens_per_second(hf, ids, args.tokens)
        cpp_tps, cpp_n = tokens_per_second(gguf, ids, args.tokens)
        print(f"model: {merged} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters)")
        print(f"transformers fp32: {hf_tps:8.1f} tokens/s ({hf_n} tokens)")
        print(f"llama.cpp Q8_0:    {cpp_tps:8.1f} tokens/s ({cpp_n} tokens)   speed-up {cpp_tps / hf_tps:.1f}x")
        for engine in (gguf, hf):
            direct, served, bare = overhead_ms(engine, args.requests)
            print(f"1-token request, {engine.backend:4s}: engine {direct:6.2f} ms; through the server with the openai "
                  f"client {served:6.2f} ms (overhead {served - direct:5.2f} ms), with httpx {bare:6.2f} ms "
                  f"(overhead {bare - direct:5.2f} ms); medians of {args.requests}")


if __name__ == "__main__":
    main()
