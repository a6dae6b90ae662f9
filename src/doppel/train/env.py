"""How one training stage runs: device, precision, seed, and what to do with old checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

from doppel.modeling.device import resolve_device, use_bf16
from doppel.train.checkpoints import RESUME_CHOICES


@dataclass(frozen=True)
class TrainEnv:
    """Settings a training stage gets from the run rather than from its own config section.

    `resume` is the caller's choice for checkpoints an interrupted run left (see
    checkpoints.RESUME_CHOICES); it is passed down from the command line, never kept globally.
    """

    device: str
    bf16: bool
    seed: int
    resume: str = "auto"

    def __post_init__(self) -> None:
        if self.resume not in RESUME_CHOICES:
            raise ValueError(f"resume must be one of {RESUME_CHOICES}, not {self.resume!r}")

    @classmethod
    def from_config(cls, device: str, bf16: bool | str, seed: int, resume: str = "auto") -> "TrainEnv":
        dev = resolve_device(device)
        return cls(dev, use_bf16(bf16, dev), seed, resume)
