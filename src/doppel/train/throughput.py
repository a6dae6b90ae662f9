"""Tokens per second and model-FLOPs utilisation (MFU) of a training stage.

Model FLOPs per trained token follow the usual accounting (Kaplan et al.; PaLM's appendix):
every linear layer costs 2 x in x out multiply-adds forward, as much again for the gradient
of its input, and as much again for the gradient of its weight when that weight is trained
(so 6 per weight for full training, 4 for a frozen weight under LoRA); attention adds
12 x layers x attention width x sequence length (scores and weighted sum, forward and
backward, causal mask not discounted). Recomputation under gradient checkpointing is not
counted: MFU counts the model's work, not the hardware's.
"""

from __future__ import annotations

# Dense bf16 tensor-core peaks (TFLOP/s, no structured sparsity) from the vendors' data sheets.
PEAK_BF16_TFLOPS = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10G": 70.0,
    "A10": 125.0,
}


def peak_tflops(device_name: str) -> float | None:
    """The bf16 peak of a GPU named like torch.cuda.get_device_name(); None when unknown."""
    name = device_name.upper()
    for key in sorted(PEAK_BF16_TFLOPS, key=len, reverse=True):  # "H100 PCIe" before "H100"
        if key.upper() in name:
            return PEAK_BF16_TFLOPS[key]
    return None


def flops_per_token(model, seq_len: int) -> float:
    """Training FLOPs per token of `model` on rows of `seq_len` tokens (see module doc)."""
    import torch

    total = 0.0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            per = 2 * module.in_features * module.out_features  # not weight.shape: 4-bit weights are packed
            total += per * (3 if module.weight.requires_grad else 2)
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    total += 12 * config.num_hidden_layers * config.num_attention_heads * head_dim * seq_len
    return total


def throughput(model, packing: dict, rows_key: str, rows_per_step: int, seq_len: int, step_seconds: dict | None,
               device: str) -> dict:
    """tokens/s (steady state: the median step) and, on a GPU whose peak is known, MFU.

    `packing` holds the real tokens and the rows they were packed into (`rows_key`), so a
    step's tokens are the mean real tokens of a row times the rows a step trains on (batch
    size x gradient accumulation x processes).
    """
    if not step_seconds or not packing.get(rows_key):
        return {}
    tokens = rows_per_step * packing["tokens"] / packing[rows_key]
    per_second = tokens / step_seconds["median"]
    out: dict = {"tokens_per_second": round(per_second, 1)}
    if device == "cuda":
        import torch

        from doppel.train.distributed import world_size

        name = torch.cuda.get_device_name()
        peak = peak_tflops(name)
        flops = flops_per_token(model, seq_len) * per_second / world_size()  # per GPU
        out.update(gpu=name, model_tflops_per_gpu=float(f"{flops / 1e12:.4g}"),
                   mfu=float(f"{flops / (peak * 1e12):.4g}") if peak else None)
    return out


def stage_throughput(model, packing: dict, rows_key: str, cfg, env, step_seconds: dict | None) -> dict:
    """throughput() for a training stage's config (batch size, accumulation, row length)."""
    from doppel.train.distributed import world_size

    rows_per_step = cfg.batch_size * cfg.grad_accum * world_size()
    return throughput(model, packing, rows_key, rows_per_step, cfg.seq_len, step_seconds, env.device)
