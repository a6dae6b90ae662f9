"""llama.cpp reads a long prompt in one batch on a quantized file (the AMX crash of llama.cpp#20824
killed the process here; a crash in the child is a failure of this test, not of the suite)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json, sys
import llama_cpp
import numpy as np

path, ubatch = sys.argv[1], int(sys.argv[2])
llm = llama_cpp.Llama(model_path=path, n_ctx=512, n_batch=512, n_ubatch=ubatch, logits_all=True, verbose=False)
ids = [(i * 7) % 300 + 5 for i in range(300)]
llm.eval(ids)
scores = np.array(llm.scores[:300], dtype=np.float32)
print(json.dumps({"finite": bool(np.isfinite(scores).all()), "last": scores[-1].tolist()}))
"""


def _run(path, ubatch: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(path), str(ubatch)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, (f"llama.cpp with n_ubatch={ubatch} exited {proc.returncode} "
                                  f"(-11: segfault) on {path.name}: {proc.stderr[-1500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_300_token_prompt_in_one_batch_on_a_quantized_file_matches_one_token_steps(llama_ggufs):
    import numpy as np

    path = llama_ggufs["q4_k_m"]
    batched, stepwise = _run(path, 512), _run(path, 1)
    assert batched["finite"] and stepwise["finite"]
    # The same logits whether the prompt is read at once or a token at a time (kernels differ in rounding).
    assert np.abs(np.array(batched["last"]) - np.array(stepwise["last"])).max() < 0.05
