"""Config validation: every user mistake names the key or file and the fix, exit code 2 at the CLI."""

import pytest
import yaml

from doppel.config import REDACTED, apply_override, load_config, redact
from doppel.errors import UserError

GOOD = {
    "name": "jane",
    "persona": {"name": "Jane Doe", "aliases": ["Jane"]},
    "sources": [{"path": "src"}],
}


def write(tmp_path, data, name="c.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def error_of(path, overrides=()):
    with pytest.raises(UserError) as info:
        load_config(path, list(overrides))
    return str(info.value)


def test_valid_config_resolves_paths_relative_to_file(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.sources[0].path == (tmp_path / "src").resolve()
    assert cfg.run_dir == (tmp_path / "runs" / "jane").resolve()
    assert cfg.train.sft.learning_rate == 2e-3  # defaults filled in


def test_unknown_nested_key_suggests_the_right_one(tmp_path):
    bad = {**GOOD, "train": {"sft": {"lerning_rate": 1e-4}}}
    msg = error_of(write(tmp_path, bad))
    assert "unknown key 'lerning_rate' in train.sft" in msg
    assert "did you mean 'learning_rate'" in msg


def test_unknown_top_level_key(tmp_path):
    msg = error_of(write(tmp_path, {**GOOD, "persone": {}}))
    assert "unknown key 'persone' at the top level" in msg and "'persona'" in msg


def test_wrong_type_names_key_and_value(tmp_path):
    msg = error_of(write(tmp_path, {**GOOD, "data": {"chunk_tokens": "lots"}}))
    assert "data.chunk_tokens" in msg and "'lots'" in msg


def test_missing_required_key(tmp_path):
    msg = error_of(write(tmp_path, {"name": "x", "sources": [{"path": "a"}]}))
    assert "missing required key 'persona'" in msg


def test_list_item_key_is_located(tmp_path):
    msg = error_of(write(tmp_path, {**GOOD, "sources": [{"path": "a"}, {"pth": "b"}]}))
    assert "unknown key 'pth' in sources[1]" in msg and "did you mean 'path'" in msg


def test_bad_yaml_gives_line(tmp_path):
    msg = error_of(write(tmp_path, "name: x\npersona: [unclosed\n"))
    assert "not valid YAML at line" in msg


def test_missing_file(tmp_path):
    assert "does not exist" in error_of(tmp_path / "nope.yaml")


def test_set_overrides_any_key_and_unknown_ones_fail(tmp_path):
    path = write(tmp_path, GOOD)
    cfg = load_config(path, ["train.sft.learning_rate=1e-4", "data.chunk_tokens=128"])
    assert cfg.train.sft.learning_rate == 1e-4 and cfg.data.chunk_tokens == 128
    assert "did you mean 'learning_rate'" in error_of(path, ["train.sft.learnin_rate=1"])
    assert "not KEY=VALUE" in error_of(path, ["train.sft.learning_rate"])
    assert "is not a section" in error_of(path, ["persona.name.first=1"])


def test_redact_hides_secret_values_only():
    data = {"teacher": {"api_key": "sk-123", "model": "m"}, "list": [{"token": "t"}], "x_token": None}
    out = redact(data)
    assert out["teacher"] == {"api_key": REDACTED, "model": "m"}
    assert out["list"][0]["token"] == REDACTED and out["x_token"] is None


def test_persona_matching_ignores_case_and_punctuation():
    from doppel.config import PersonaConfig

    p = PersonaConfig(name="Mara Quell", aliases=["M. Quell"])
    assert p.matches("MARA  QUELL") and p.matches("m quell") and not p.matches("Mara")
    apply_override(raw := {}, "a.b=[1, 2]")
    assert raw == {"a": {"b": [1, 2]}}

