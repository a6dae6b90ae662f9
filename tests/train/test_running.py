"""Running training as users do: Ctrl-C and --resume, --restart, and two processes (gloo DDP)."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.conftest import doppel, write_tiny_config

LONG = ["--set", "train.pretrain.max_steps=80", "--set", "train.pretrain.save_steps=4"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, demo_sources):
    """A tiny config whose data is built (ingest + build), ready for `doppel train`."""
    folder = tmp_path_factory.mktemp("running")
    config = write_tiny_config(folder, demo_sources, name="running")
    proc = doppel("run", config, "--only", "ingest", "--only", "build")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return config, folder / "runs" / "running"


def weights(run_dir) -> dict:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(run_dir / "models" / "pretrain" / "model")
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def summary(run_dir, stage="pretrain") -> dict:
    return json.loads((run_dir / "manifest.json").read_text())["stages"][stage]["summary"]


def test_ctrl_c_saves_a_checkpoint_and_resume_ends_where_an_uninterrupted_run_ends(built):
    config, run_dir = built
    straight = doppel("train", config, "pretrain", *LONG)
    assert straight.returncode == 0, straight.stderr[-3000:]
    expected = weights(run_dir)

    proc = subprocess.Popen([sys.executable, "-m", "doppel", "train", str(config), "pretrain", "--force", *LONG],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ckpts = run_dir / "models" / "pretrain" / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and not list(ckpts.glob("checkpoint-*/trainer_state.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]
    assert "--resume" in err and "Traceback" not in err
    saved = sorted(int(p.name.split("-")[1]) for p in ckpts.glob("checkpoint-*"))
    assert saved and saved[-1] < 80  # stopped part-way, with its last step saved
    # The stopped run wrote no model: the folder still holds the earlier complete one.
    assert all(torch.equal(weights(run_dir)[n], v) for n, v in expected.items())
    assert json.loads((run_dir / "manifest.json").read_text())["stages"]["pretrain"]["status"] == "failed"

    resumed = doppel("train", config, "pretrain", "--resume", *LONG)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    s = summary(run_dir)
    assert s["resumed_from_checkpoint"] == f"checkpoint-{saved[-1]}" and s["steps"] == 80
    got = weights(run_dir)
    # Same optimizer state, schedule and data order: the same model as the run never stopped.
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, atol=1e-6, rtol=1e-5, msg=name)


def test_resume_without_a_checkpoint_and_contradicting_flags_are_clear_errors(built):
    config, _ = built
    proc = doppel("train", config, "pretrain", "--resume", "--force")
    assert proc.returncode == 2 and "cannot resume stage 'pretrain'" in proc.stderr
    assert "Run without --resume" in proc.stderr and "Traceback" not in proc.stderr
    proc = doppel("train", config, "--resume", "--restart")
    assert proc.returncode == 2 and "contradict" in proc.stderr
    proc = doppel("train", config, "eval")
    assert proc.returncode == 2 and "'eval' is not a training stage" in proc.stderr


def test_two_processes_with_gloo_train_one_model_on_different_data(built):
    from doppel.train.distributed import weights_digest

    config, run_dir = built
    proc = doppel("train", config, "pretrain", "--force", "--num-processes", "2", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = summary(run_dir)
    assert s["processes"] == 2 and [r["rank"] for r in s["ranks"]] == [0, 1]
    # The ranks read different batches, yet ended with identical weights: the gradients
    # were averaged across processes at every step.
    assert s["ranks"][0]["first_batch"] != s["ranks"][1]["first_batch"]
    assert s["ranks"][0]["weights"] == s["ranks"][1]["weights"]
    from transformers import AutoModelForCausalLM

    saved = AutoModelForCausalLM.from_pretrained(run_dir / "models" / "pretrain" / "model")
    assert weights_digest(saved) == s["ranks"][0]["weights"]
    assert s["last_loss"] < s["first_loss"]
    assert proc.stdout.count("pretrain done") == 1  # rank 0 alone reports
