"""Measurement protocols: data files (TOML) in this folder, loaded into frozen dataclasses."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from romcam.definitions import build, check_metric, read_toml
from romcam.errors import UsageError

VIEWS = ("side", "front")
MEASURES = ("above", "below", "rise", "drop", "abs_change")
MODEL_VARIANTS = ("lite", "full", "heavy")
"""The pose models a protocol may prefer: ``romcam.pose.models.VARIANTS`` (a layer above; a test keeps them equal)."""


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
    excursions of ``direction * angle`` above the resting level. ``model_variant`` is the pose model the
    measurement prefers (``--model-variant`` overrides it; the full model stands in where it cannot be had).
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
    model_variant: str = "full"

    def angle_name(self, side: str) -> str:
        return f"{side}_{self.angle}"

    def instruction_for(self, side: str) -> str:
        return self.instruction.format(side=side)


def parse_protocol(name: str, data: dict[str, Any], where: str = "") -> Protocol:
    """Build a protocol from TOML data; ``UsageError`` naming the file and key for anything wrong."""
    where = where or name
    choices = {"view": VIEWS, "measure": MEASURES, "direction": (1, -1), "model_variant": MODEL_VARIANTS}
    protocol = build(Protocol, data, where, given={"name": name}, choices=choices)
    if protocol.trials < 1:
        raise UsageError(f"{where}: key 'trials' must be at least 1, got {protocol.trials}")
    check_metric("{side}_" + protocol.angle, where)
    for c in protocol.compensations:
        check_metric(c.angle, f"{where} compensation {c.name!r}")
    return protocol


def load_protocol_file(path: Path) -> Protocol:
    return parse_protocol(path.stem, read_toml(path), str(path))


def builtin_protocols() -> dict[str, Protocol]:
    """Every protocol shipped with romcam, by name."""
    folder = resources.files(__name__)
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            name = entry.name.removesuffix(".toml")
            out[name] = parse_protocol(name, tomllib.loads(entry.read_text()), entry.name)
    return out


def get_protocol(name: str) -> Protocol:
    """A shipped protocol by name, or a protocol TOML file by path."""
    if name.endswith(".toml"):
        return load_protocol_file(Path(name))
    protocols = builtin_protocols()
    if name not in protocols:
        raise UsageError(f"unknown protocol {name!r}; valid protocols: {', '.join(protocols)}")
    return protocols[name]
