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


def test_the_installed_llama_cpp_has_no_amx_kernel_and_reads_prompts_in_whole_batches(monkeypatch):
    import llama_cpp

    from doppel.modeling import llamacpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "AMX_INT8 = 1" not in info, f"llama.cpp was compiled with AMX (make install builds it without): {info}"
    # Every instruction set of this CPU, and only those, is compiled in (as /proc/cpuinfo and
    # llama.cpp each spell them; written out here, not taken from tools/build_llama.py).
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    printed = {"AVX": "avx", "AVX2": "avx2", "FMA": "fma", "F16C": "f16c", "BMI2": "bmi2", "AVX512": "avx512f",
               "AVX512_VBMI": "avx512vbmi", "AVX512_VNNI": "avx512_vnni", "AVX512_BF16": "avx512_bf16",
               "AVX_VNNI": "avx_vnni"}
    if "avx2" in cpu:  # an x86 CPU (elsewhere llama.cpp's defaults stand)
        wrong = {name for name, flag in printed.items() if (f"| {name} = 1 |" in f"| {info}") != (flag in cpu)}
        assert not wrong, f"compiled-in instruction sets {sorted(wrong)} do not match this CPU's: {info}"
    monkeypatch.delenv("DOPPEL_LLAMA_UBATCH", raising=False)
    assert not llamacpp.library_has_amx()
    assert llamacpp.micro_batch() == 512


def test_a_build_with_amx_alone_falls_back_to_one_token_steps(monkeypatch, capsys):
    from doppel.modeling import llamacpp

    monkeypatch.delenv("DOPPEL_LLAMA_UBATCH", raising=False)
    monkeypatch.setattr(llamacpp, "library_has_amx", lambda: True)
    monkeypatch.setattr(llamacpp, "_NOTED", [])
    assert llamacpp.micro_batch() == 1
    assert "AMX kernel" in capsys.readouterr().err
    monkeypatch.setenv("DOPPEL_LLAMA_UBATCH", "64")
    assert llamacpp.micro_batch() == 64


def test_the_install_compiles_llama_cpp_for_the_cpu_it_is_on_with_amx_off():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("build_llama", Path(__file__).parents[2] / "tools" / "build_llama.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    sapphire_rapids = {"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512vbmi", "avx512_vbmi2",
                       "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"}
    args = build.cmake_args(sapphire_rapids, "x86_64")
    assert "-DGGML_NATIVE=OFF" in args  # -march=native is what turns the AMX kernel on
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(args)
    # the rest is kept, under /proc/cpuinfo's own spellings (avx512vbmi, avx512_vnni)
    assert {"-DGGML_AVX512=ON", "-DGGML_AVX512_VBMI=ON", "-DGGML_AVX512_VNNI=ON", "-DGGML_AVX512_BF16=ON",
            "-DGGML_AVX2=ON"} <= set(args)
    assert "-DGGML_AVX512=OFF" in build.cmake_args({"sse4_2", "avx", "avx2", "fma", "f16c"}, "x86_64")
