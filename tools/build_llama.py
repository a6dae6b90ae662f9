"""Install llama-cpp-python compiled without llama.cpp's AMX kernels, built once per machine.

llama-cpp-python compiles llama.cpp at install. By default it builds with -march=native, and
on CPUs with AMX (Intel Sapphire Rapids and later) that compiles in ggml's AMX matrix kernel,
which crashed (SIGSEGV in ggml_backend_amx_mul_mat) as soon as a quantized file read a prompt
in one batch. This builds with GGML_NATIVE=OFF and names the instruction sets the CPU has
(AVX2, FMA, F16C, BMI2, AVX-512 and its VNNI/BF16 extensions, AVX-VNNI) one by one, with the
three AMX options off. The wheel is kept in ~/.cache/doppel/wheels/<key> (key: version and
flags), so a fresh clone on the same machine installs it without compiling again.

Users who build for a GPU set DOPPEL_LLAMA_CMAKE_ARGS (e.g. "-DGGML_CUDA=on"); it is added to
the flags and to the key.

    python tools/build_llama.py [--print-args]
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

VERSION = "0.3.36"
PACKAGE = f"llama-cpp-python=={VERSION}"

# /proc/cpuinfo flag -> ggml CMake option (the kernel spells VBMI without an underscore, VNNI
# and BF16 with one)
OPTIONAL_SETS = [
    ("avx512f", "GGML_AVX512"),
    ("avx512vbmi", "GGML_AVX512_VBMI"),
    ("avx512_vnni", "GGML_AVX512_VNNI"),
    ("avx512_bf16", "GGML_AVX512_BF16"),
    ("avx_vnni", "GGML_AVX_VNNI"),
]
BASE_SETS = [("sse4_2", "GGML_SSE42"), ("avx", "GGML_AVX"), ("avx2", "GGML_AVX2"), ("fma", "GGML_FMA"),
             ("f16c", "GGML_F16C"), ("bmi2", "GGML_BMI2")]


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cmake_args(flags: set[str] | None = None, machine: str | None = None) -> list[str]:
    """The CMake flags: no -march=native, each instruction set the CPU has, AMX off (x86 only;
    elsewhere llama.cpp's defaults stand)."""
    import platform

    flags = cpu_flags() if flags is None else flags
    machine = machine or platform.machine()
    args = []
    if machine in ("x86_64", "AMD64") and flags:
        args.append("-DGGML_NATIVE=OFF")
        for flag, option in BASE_SETS + OPTIONAL_SETS:
            args.append(f"-D{option}={'ON' if flag in flags else 'OFF'}")
        args += ["-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
    extra = os.environ.get("DOPPEL_LLAMA_CMAKE_ARGS", "").split()
    return args + extra


def main() -> int:
    args = cmake_args()
    if "--print-args" in sys.argv:
        print(" ".join(args))
        return 0
    key = hashlib.sha256(" ".join([VERSION, *args]).encode()).hexdigest()[:16]
    wheels = Path(os.environ.get("DOPPEL_WHEEL_CACHE", Path.home() / ".cache" / "doppel" / "wheels")) / key
    found = sorted(wheels.glob("llama_cpp_python-*.whl")) if wheels.is_dir() else []
    if not found:
        print(f"compiling llama.cpp ({PACKAGE}, a few minutes) with: {' '.join(args)}", flush=True)
        env = dict(os.environ, CMAKE_ARGS=" ".join(args))
        wheels.mkdir(parents=True, exist_ok=True)
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                                "--no-deps", "--no-cache-dir", "--no-binary", "llama-cpp-python",
                                "-w", str(wheels), PACKAGE], env=env)
        found = sorted(wheels.glob("llama_cpp_python-*.whl"))
        if built.returncode != 0 or not found:
            print(f"compiling {PACKAGE} failed (exit {built.returncode}; its output is above). It needs a C/C++ "
                  "compiler and cmake: apt-get install build-essential cmake, then run make again.",
                  file=sys.stderr)
            return 1
    # The dependencies come from the index; the compiled package only from the wheel.
    for step in (["--force-reinstall", "--no-deps", str(found[-1])], [PACKAGE]):
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *step])
        if done.returncode != 0:
            print(f"installing {' '.join(step)} failed (exit {done.returncode}; its output is above)", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
