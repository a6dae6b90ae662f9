"""Fail the install when CUDA wheels landed on a machine without an NVIDIA GPU."""

import shutil
import sys
from importlib import metadata

cuda_wheels = sorted({d.metadata["Name"] for d in metadata.distributions()
                      if (d.metadata["Name"] or "").lower().startswith("nvidia-")})
if cuda_wheels and shutil.which("nvidia-smi") is None:
    sys.exit("CUDA wheels were installed on a machine without an NVIDIA GPU: "
             + ", ".join(cuda_wheels) + ". Remove .venv and install torch==2.13.0 (CPU) first.")
print("install ok: no CUDA wheels on this CPU machine" if not cuda_wheels else "install ok (GPU machine)")
