"""Measurement protocols: data files (TOML) in this folder, loaded into frozen dataclasses."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from romcam.errors import UsageError

VIEWS = ("side", "front")
MEASURES = ("above", "below", "rise", "drop", "abs_change")


@dataclass(frozen=True)
class Compensation:
    """A movement that inflates the number, checked during each trial's hold (or at its peak).

    ``measure``: "above"/"below" compare the metric with ``threshold_deg``; "rise"/"drop" compare its
    change since the trial's start; "abs_change" its absolute change. ``angle`` may contain ``{side}``.
    """

    name: str
    angle: str
    measure: str
    threshold_deg: float
    cue: str


@dataclass(frozen=True)
class Protocol:
    """One standard ROM measurement.

    ``direction = -1`` measures the angle's negative (extension, or an extension deficit): trials are
    excursions of ``direction * angle`` above the resting level.
    """

    name: str
    title: str
    angle: str
    view: str
    start_position: str
    instruction: str
    normal_deg: float
    normal_source: str
    change_deg: float
    change_source: str
    direction: int = 1
    trials: int = 3
    start_excursion_deg: float = 20.0
    hold_tolerance_deg: float = 3.0
    hold_min_s: float = 1.0
    compensations: tuple[Compensation, ...] = ()

    def angle_name(self, side: str) -> str:
        return f"{side}_{self.angle}"

    def instruction_for(self, side: str) -> str:
        return self.instruction.format(side=side)


def _check_keys(data: dict[str, Any], cls: type, where: str, implicit: tuple[str, ...] = ()) -> None:
    valid = {f.name for f in fields(cls)} - set(implicit)
    unknown = set(data) - valid
    if unknown:
        raise UsageError(f"{where}: unknown key {', '.join(sorted(unknown))}; valid keys: {', '.join(sorted(valid))}")


def parse_protocol(name: str, data: dict[str, Any], where: str = "") -> Protocol:
    """Build a protocol from TOML data, rejecting unknown keys and wrong values."""
    where = where or name
    _check_keys(data, Protocol, where, implicit=("name",))
    comps = []
    for item in data.pop("compensations", []):
        _check_keys(item, Compensation, f"{where} compensation")
        if item.get("measure") not in MEASURES:
            raise UsageError(f"{where}: measure must be one of {', '.join(MEASURES)}")
        comps.append(Compensation(**item))
    protocol = Protocol(name=name, compensations=tuple(comps), **data)
    if protocol.view not in VIEWS:
        raise UsageError(f"{where}: view must be one of {', '.join(VIEWS)}, got {protocol.view!r}")
    if protocol.direction not in (1, -1) or protocol.trials < 1:
        raise UsageError(f"{where}: direction must be 1 or -1 and trials >= 1")
    return protocol


def load_protocol_file(path: Path) -> Protocol:
    with open(path, "rb") as f:
        return parse_protocol(path.stem, tomllib.load(f), str(path))


def builtin_protocols() -> dict[str, Protocol]:
    """Every protocol shipped with romcam, by name."""
    folder = resources.files(__name__)
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out[entry.name.removesuffix(".toml")] = parse_protocol(
                entry.name.removesuffix(".toml"), tomllib.loads(entry.read_text()), entry.name
            )
    return out


def get_protocol(name: str) -> Protocol:
    """A shipped protocol by name, or a protocol TOML file by path."""
    if name.endswith(".toml"):
        return load_protocol_file(Path(name))
    protocols = builtin_protocols()
    if name not in protocols:
        raise UsageError(f"unknown protocol {name!r}; valid protocols: {', '.join(protocols)}")
    return protocols[name]
