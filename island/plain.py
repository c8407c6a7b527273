"""Dataclasses as plain data (msgpack maps, lists, numbers, text, bytes) and back, by their
type hints: the one routine every part of a node's checkpoint goes through.

A field's annotation decides how it is read back: `np.ndarray` from a list of floats, a
nested dataclass from its map, `T | None`, `list[T]`, `tuple[...]` and `dict[str, T]` by
their parts. A map that lacks a field, or has one the type does not, is refused by name:
there is no reader for older shapes (island/state.py's version number says which).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def to_plain(value: Any) -> Any:
    """`value` as msgpack-ready plain data (a dataclass as a map of its fields)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_plain(annotation: Any, data: Any, where: str = "") -> Any:
    """The value of type `annotation` that `to_plain` made `data` from; ValueError naming
    the field (`where`) when the data does not fit."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return None if data is None else from_plain(args[0], data, where)
    if dataclasses.is_dataclass(annotation):
        return _dataclass(annotation, data, where)
    if annotation is np.ndarray:
        return np.asarray(data, dtype=float)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return [from_plain(item, v, f"{where}[{i}]") for i, v in enumerate(_list(data, where))]
    if origin is tuple:
        items = typing.get_args(annotation)
        data = _list(data, where)
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(from_plain(items[0], v, where) for v in data)
        if len(items) != len(data):
            raise ValueError(f"{where}: expected {len(items)} items, got {len(data)}")
        return tuple(from_plain(t, v, f"{where}[{i}]")
                     for i, (t, v) in enumerate(zip(items, data, strict=True)))
    if origin is dict:
        _, item = typing.get_args(annotation)
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a map, got {type(data).__name__}")
        return {k: from_plain(item, v, f"{where}.{k}") for k, v in data.items()}
    if annotation in (int, float, bool, str, bytes):
        if not isinstance(data, annotation) and not (annotation is float and
                                                     isinstance(data, int)):
            raise ValueError(f"{where}: expected {annotation.__name__}, got {data!r:.40}")
        return annotation(data)
    if annotation is Any:
        return data
    raise ValueError(f"{where}: no plain form for {annotation!r}")


def _list(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list | tuple):
        raise ValueError(f"{where}: expected a list, got {type(data).__name__}")
    return list(data)


def _dataclass(cls: type[T], data: Any, where: str) -> T:
    if not isinstance(data, dict):
        raise ValueError(f"{where or cls.__name__}: expected a map, got {type(data).__name__}")
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    missing, extra = set(names) - set(data), set(data) - set(names)
    if missing or extra:
        raise ValueError(f"{where or cls.__name__}: "
                         + "; ".join(filter(None, [
                             missing and f"missing {', '.join(sorted(missing))}",
                             extra and f"unknown {', '.join(sorted(map(str, extra)))}"])))
    return cls(**{n: from_plain(hints[n], data[n], f"{where}.{n}".lstrip(".")) for n in names})
