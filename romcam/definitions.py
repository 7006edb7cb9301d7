"""One validated loader for romcam's definition files (protocols, exercises, programs: TOML).

A definition is a frozen dataclass; its fields are the valid keys, fields without a default are required,
and each value must have the field's type (``str``, ``float`` (a whole number is fine), ``int``, or a tuple
of nested definitions written as TOML arrays of tables). Every error is a ``UsageError`` that names the
file, the key and what is allowed, so a broken file is one line, never a traceback.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from romcam.errors import UsageError

T = TypeVar("T")

METRIC_EXTRAS = ("{side}_ear_shoulder_distance", "knee_asymmetry")
"""Per-frame metrics besides the registry angles (``romcam.rules.metrics.frame_metrics``)."""


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file's tables; ``UsageError`` naming the file when it is missing or not valid TOML."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a TOML file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None


def _type_name(kind: Any) -> str:
    return {str: "text", float: "a number", int: "a whole number", bool: "true or false"}.get(kind, str(kind))


_ACCEPTS = {
    str: lambda v: isinstance(v, str),
    float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    bool: lambda v: isinstance(v, bool),
}
"""Which TOML values a field of each type accepts (a whole number is a number; true is not)."""


def _check_value(value: Any, kind: Any, where: str, key: str) -> Any:
    """``value`` converted to ``kind`` (int → float), or ``UsageError`` saying what was expected."""
    if typing.get_origin(kind) in (types.UnionType, typing.Union):  # ``float | None``: the value is given
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if not _ACCEPTS[kind](value):
        raise UsageError(f"{where}: key {key!r} must be {_type_name(kind)}, got {value!r}")
    return float(value) if kind is float else value


def _check_keys(data: Any, fields: dict[str, dataclasses.Field[Any]], where: str) -> None:
    """``UsageError`` for a value that is not a table, an unknown key, or a missing required key."""
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a table of keys, got {data!r}")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UsageError(f"{where}: unknown key {', '.join(unknown)}; valid keys: {', '.join(sorted(fields))}")
    missing_value = dataclasses.MISSING
    required = [n for n, f in fields.items() if f.default is missing_value and f.default_factory is missing_value]
    missing = [n for n in required if n not in data]
    if missing:
        raise UsageError(f"{where}: missing key {', '.join(missing)}; required keys: {', '.join(required)}")


def _field_value(key: str, value: Any, kind: Any, where: str, choices: Mapping[str, tuple[Any, ...]]) -> Any:
    """One checked value: a nested tuple of definitions, or a plain value of the field's type and choices."""
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, list):
            raise UsageError(f"{where}: key {key!r} must be a list of tables ([[{key}]])")
        nested = typing.get_args(kind)[0]
        return tuple(
            build(nested, item, f"{where} [[{key}]] #{i + 1}", choices=choices) for i, item in enumerate(value)
        )
    checked = _check_value(value, kind, where, key)
    if key in choices and checked not in choices[key]:
        allowed = ", ".join(str(c) for c in choices[key])
        raise UsageError(f"{where}: key {key!r} is {value!r}; valid values: {allowed}")
    return checked


def build(
    cls: type[T],
    data: Any,
    where: str,
    *,
    given: Mapping[str, Any] | None = None,
    choices: Mapping[str, tuple[Any, ...]] | None = None,
) -> T:
    """Build ``cls`` from a TOML table, checking keys, required keys, types and allowed values.

    ``given`` are fields set by romcam, not by the file (e.g. the name, from the file name); ``choices``
    maps a key to its allowed values. Nested tuples of dataclasses are built recursively with the same
    ``choices``.
    """
    given = dict(given or {})
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in given}  # type: ignore[arg-type]
    _check_keys(data, fields, where)
    hints = typing.get_type_hints(cls)
    values = {key: _field_value(key, value, hints[key], where, choices or {}) for key, value in data.items()}
    return cls(**given, **values)


def check_metric(name: str, where: str, extra: tuple[str, ...] = ()) -> None:
    """``UsageError`` unless ``name`` (which may hold ``{side}``) is a per-frame metric for both sides."""
    from romcam.kinematics.angles import REGISTRY

    valid = set(REGISTRY) | set(extra) | {m.format(side=s) for m in METRIC_EXTRAS for s in ("left", "right")}
    for side in ("left", "right"):
        if name.format(side=side) not in valid:
            examples = sorted({n.replace("left_", "{side}_") for n in REGISTRY if not n.startswith("right_")})
            raise UsageError(
                f"{where}: unknown angle {name!r}; valid: {', '.join([*examples, *METRIC_EXTRAS, *extra])}"
            )
