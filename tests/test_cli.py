"""The command line as a user meets it: help without heavy imports, init, and errors with exit 2."""

import subprocess
import sys

import yaml

from tests.conftest import doppel, write_tiny_config


def test_help_does_not_import_torch():
    code = ("import sys; from typer.testing import CliRunner; from doppel.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
            "assert 'demo' in r.output; print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_init_writes_a_config_that_validates(tmp_path):
    proc = doppel("init", "jane", "--dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    from doppel.config import load_config

    cfg = load_config(tmp_path / "jane.yaml")
    assert cfg.name == "jane" and cfg.persona.name == "Jane Doe"
    assert "#" in (tmp_path / "jane.yaml").read_text()  # commented
    again = doppel("init", "jane", "--dir", tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr


def assert_user_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


def test_config_errors_exit_2_naming_the_key(tmp_path, demo_sources):
    config = write_tiny_config(tmp_path, demo_sources)
    data = yaml.safe_load(config.read_text())
    data["train"]["sft"]["lerning_rate"] = 1.0
    config.write_text(yaml.safe_dump(data))
    assert_user_error(doppel("run", config), "unknown key 'lerning_rate' in train.sft",
                      "did you mean 'learning_rate'")


def test_missing_source_and_missing_config(tmp_path, demo_sources):
    config = write_tiny_config(tmp_path, demo_sources)
    data = yaml.safe_load(config.read_text())
    data["sources"][0]["path"] = str(tmp_path / "no-such-folder")
    config.write_text(yaml.safe_dump(data))
    assert_user_error(doppel("run", config), "sources[0].path", "no-such-folder", "does not exist")
    assert_user_error(doppel("run", tmp_path / "absent.yaml"), "absent.yaml does not exist", "doppel init")


def test_bad_override_and_unknown_stage(tmp_path, demo_sources):
    config = write_tiny_config(tmp_path, demo_sources)
    assert_user_error(doppel("run", config, "--set", "data.chunk_tokens=many"), "data.chunk_tokens", "'many'")
    assert_user_error(doppel("run", config, "--only", "finetune"), "unknown stage 'finetune'")


def test_chat_on_a_folder_without_a_run(tmp_path):
    assert_user_error(doppel("chat", tmp_path), "config.resolved.yaml")


def test_debug_flag_shows_the_traceback(tmp_path):
    proc = doppel("--debug", "run", tmp_path / "absent.yaml")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "UserError" in proc.stderr
