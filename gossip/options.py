"""Config fields for every section of a node's config: how one is declared, and the one check
of a value (from TOML, a flag or a constructor) against its field's type.

It lives in gossip/ because `python -m gossip` runs without the island package, and the
island's config (island/config.py) embeds the gossip section: both read their values here.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import field
from typing import Any


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the key and the problem."""


def option(default: Any, help: str, words: dict[str, Any] | None = None) -> Any:
    """A config field with its one-line description: `--help` and the TOML docs read it here.
    `words` are names a value may be given by (`--target none`); a list default is copied."""
    metadata = {"help": help, "words": words or {}}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _optional(annotation: Any) -> tuple[Any, bool]:
    """`T | None` -> (T, True); any other annotation -> (itself, False)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0], True
    return annotation, False


def coerce(value: Any, annotation: Any, where: str) -> Any:
    """`value` checked against a field's type (ints are numbers; a number is finite); a
    ConfigError names `where` and the problem."""
    annotation, optional = _optional(annotation)
    if value is None:
        if not optional:
            raise ConfigError(f"{where}: must be set")
        return None
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported option type {annotation!r}")


def parse_text(text: str, annotation: Any, where: str) -> Any:
    """A flag's text as the field's type (`16,16` for a list), before `coerce` checks it."""
    annotation, _ = _optional(annotation)
    try:
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            return [item(part) for part in text.split(",") if part.strip()]
        if annotation in (int, float, str):
            return annotation(text)
    except ValueError:
        raise ConfigError(f"{where}: cannot read {text!r} as {annotation.__name__}") from None
    return text


def word(f: dataclasses.Field, value: Any) -> Any:
    """The value a word stands for in this field (`none` for `target`), else `value`."""
    words = f.metadata.get("words", {})
    return words.get(value.lower(), value) if isinstance(value, str) else value


def set_field(section: Any, name: str, value: Any, where: str, from_text: bool = False) -> None:
    """Set one field of a config section to a checked value: a word first, then (a flag's
    `from_text`) the text read as the field's type, then `coerce`."""
    f = next(f for f in dataclasses.fields(section) if f.name == name)
    annotation = typing.get_type_hints(type(section))[name]
    value = word(f, value)
    if from_text and isinstance(value, str):
        value = parse_text(value, annotation, where)
    setattr(section, name, coerce(value, annotation, where))


def check_fields(section: Any) -> None:
    """Every field of a config section checked (and numbers made floats) in place; the
    message starts with the field's name."""
    hints = typing.get_type_hints(type(section))
    for f in dataclasses.fields(section):
        setattr(section, f.name, coerce(getattr(section, f.name), hints[f.name], f.name))
