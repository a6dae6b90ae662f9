"""Every setting of the schema as one commented YAML file (`doppel init NAME --full`).

The file is written by walking the pydantic models: each key with its default, its allowed
values (from Literal types and bounds) and its description, so it cannot drift from what
`load_config` accepts.
"""

from __future__ import annotations

import textwrap
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from doppel.config.loader import Config, redact

# The only values that are not defaults: the required keys need something to validate.
EXAMPLE = {"persona": {"name": "Jane Doe"}, "sources": [{"path": "sources/persona"}],
           "background": [{"path": "sources/background"}]}

HEADER = """\
# Doppel config for {name}: every setting, with its default, allowed values and meaning.
# Generated from the config schema by `doppel init {name} --full`, so it lists exactly what
# the loader accepts; a misspelt key is an error. A key left out takes the default shown here,
# so delete any line you do not change. Relative paths are read from this file's folder.
# Every value is the default except persona.name, sources and background: examples to replace.
"""

WIDTH = 100
SCALARS = {int: "integer", float: "number", str: "text", bool: "true | false", Path: "path",
           SecretStr: "secret text (better: an environment variable)"}


def choices(model: type[BaseModel], key: str) -> str:
    """The allowed values of a Literal-typed setting, as 'a | b | c' (for the short starter's comments)."""
    return " | ".join(str(v) for v in _literals(model.model_fields[key].annotation))


def _literals(tp: Any) -> list:
    if typing.get_origin(tp) is Literal:
        return list(typing.get_args(tp))
    return [v for arg in _union_args(tp) for v in _literals(arg)] if _union_args(tp) else []


def _union_args(tp: Any) -> tuple:
    return typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else ()


def _words(tp: Any) -> str:
    """A short human name of a type: 'integer', 'list of text', 'one of: a | b'."""
    if tp in SCALARS:
        return SCALARS[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return "one of: " + " | ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        named = [_words(a) for a in args if a is not type(None)]
        if all(a is bool or typing.get_origin(a) is Literal for a in args if a is not type(None)):
            named = ["one of: " + " | ".join(w.removeprefix("one of: ") for w in named)]
        else:
            named = [w.removeprefix("one of: ") for w in named]
        return " or ".join(named) + (", or null" if type(None) in args else "")
    if origin is list:
        inner = _words(args[0])
        return "list of: " + inner.removeprefix("one of: ") if inner.startswith("one of: ") else f"list of {inner}"
    if origin is dict:
        return f"mapping of {_words(args[0])} to {_words(args[1])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "settings as below"
    return getattr(tp, "__name__", str(tp))


def _bounds(field: FieldInfo) -> list[str]:
    words = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}
    out = []
    for meta in field.metadata:
        for attr, word in words.items():
            if getattr(meta, attr, None) is not None:
                out.append(f"{word} {getattr(meta, attr)}")
        if getattr(meta, "min_length", None) is not None:
            out.append("not empty" if field.annotation is str else f"at least {meta.min_length} item(s)")
    return out


def _comment(field: FieldInfo, nested: bool) -> list[str]:
    """The description, then the type (left out for a block of settings), bounds and 'required'."""
    kind = "" if nested else _words(field.annotation)
    null = kind.endswith(", or null")
    facts = [kind.removesuffix(", or null")] if kind else []
    facts += _bounds(field) + (["or null"] if null else []) + (["required"] if field.is_required() else [])
    text = textwrap.wrap(field.description or "", WIDTH, break_on_hyphens=False, break_long_words=False)
    return text + ([", ".join(facts)] if facts else [])


def _model_of(tp: Any) -> tuple[str, type[BaseModel]] | None:
    """('model' | 'list' | 'dict', the model) when a setting holds settings of its own."""
    for arg in _union_args(tp) or (tp,):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return "model", arg
        origin, args = typing.get_origin(arg), typing.get_args(arg)
        inner = args[-1] if args else None
        if origin in (list, dict) and isinstance(inner, type) and issubclass(inner, BaseModel):
            return ("list" if origin is list else "dict"), inner
    return None


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def _block(model: type[BaseModel], values: dict, indent: int, out: list[str], comments: bool = True) -> None:
    pad = " " * indent
    for key, field in model.model_fields.items():
        value = values[key]
        held = _model_of(field.annotation)
        if indent == 0 and out and out[-1]:
            out.append("")  # a blank line between the top-level sections
        if comments:
            out += [f"{pad}# {line}" for line in _comment(field, held is not None and value not in (None, [], {}))]
        if held is None or value in (None, [], {}):
            out.append(f"{pad}{key}: {_flow(value)}")
            continue
        out.append(f"{pad}{key}:")
        kind, sub = held
        if kind == "model":
            _block(sub, value, indent + 2, out, comments)
        elif kind == "dict":
            for i, (name, item) in enumerate(value.items()):
                out.append(f"{pad}  {_flow(name)}:")
                _block(sub, item, indent + 4, out, comments and i == 0)
        else:
            for i, item in enumerate(value):
                _list_item(sub, item, indent + 2, out, comments and i == 0)


def _list_item(model: type[BaseModel], item: dict, indent: int, out: list[str], comments: bool) -> None:
    """One mapping in a list: its first key carries the '- ', its comments sit at the dash."""
    lines: list[str] = []
    _block(model, item, indent + 2, lines, comments)
    first = next(i for i, line in enumerate(lines) if not line.lstrip().startswith("#"))
    for i, line in enumerate(lines):
        if i < first:
            line = " " * indent + line.lstrip()
        elif i == first:
            line = " " * indent + "- " + line.lstrip()
        out.append(line)


def full_config(name: str) -> str:
    """The full commented config for a run called `name`; it loads with `load_config` as written."""
    cfg = Config.model_validate({"name": name, **EXAMPLE})
    values = redact(cfg.model_dump(mode="json"))
    out = [HEADER.format(name=name).rstrip()]
    _block(Config, values, 0, out)
    return "\n".join(out) + "\n"
