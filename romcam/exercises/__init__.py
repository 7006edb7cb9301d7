"""The exercise library (TOML files in this folder) and exercise programs, as frozen dataclasses."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from romcam.errors import UsageError

FORM_MEASURES = ("above", "below", "rise", "drop", "abs_change", "peak_below")


@dataclass(frozen=True)
class FormRule:
    """A form fault: ``angle`` (a registry angle, may hold ``{side}``; ``primary`` = the exercise's
    angle; ``knee_asymmetry`` = |left - right knee flexion|; ``{side}_ear_shoulder_distance``) compared
    with ``threshold_deg`` by ``measure`` over each rep. ``view`` limits it to "front" or "side" views."""

    name: str
    angle: str
    measure: str
    threshold_deg: float
    cue: str
    view: str = "any"


@dataclass(frozen=True)
class Exercise:
    """One exercise. Reps are counted on ``direction * angle`` (the 'value'): a rep starts when the
    value rises above ``active_above_deg`` and is complete when it falls below ``rest_below_deg``
    (hysteresis: the gap between the two stops jitter from double-counting)."""

    name: str
    title: str
    view: str
    angle: str
    active_above_deg: float
    rest_below_deg: float
    target_deg: float
    side: str = "both"
    direction: int = 1
    hold_s: float = 0.0
    hold_tolerance_deg: float = 5.0
    form: tuple[FormRule, ...] = ()

    def sides(self) -> tuple[str, ...]:
        return ("left", "right") if self.side == "both" else (self.side,)


@dataclass(frozen=True)
class ProgramItem:
    """One prescribed exercise: sets of reps, an optional target and hold, rest between sets."""

    exercise: Exercise
    sets: int = 1
    reps: int = 0  # 0 = count every rep (no target number)
    rest_s: float = 30.0


@dataclass(frozen=True)
class Program:
    title: str
    items: tuple[ProgramItem, ...]


def _check(data: dict[str, Any], valid: set[str], where: str) -> None:
    unknown = set(data) - valid
    if unknown:
        raise UsageError(f"{where}: unknown key {', '.join(sorted(unknown))}; valid keys: {', '.join(sorted(valid))}")


def parse_exercise(name: str, data: dict[str, Any], where: str = "") -> Exercise:
    where = where or name
    _check(data, {f.name for f in fields(Exercise)} - {"name"}, where)
    rules = []
    for item in data.pop("form", []):
        _check(item, {f.name for f in fields(FormRule)}, f"{where} form rule")
        if item.get("measure") not in FORM_MEASURES:
            raise UsageError(f"{where}: form measure must be one of {', '.join(FORM_MEASURES)}")
        rules.append(FormRule(**item))
    exercise = Exercise(name=name, form=tuple(rules), **data)
    if exercise.active_above_deg <= exercise.rest_below_deg:
        raise UsageError(f"{where}: active_above_deg must be above rest_below_deg (hysteresis)")
    if exercise.side not in ("left", "right", "both") or exercise.direction not in (1, -1):
        raise UsageError(f"{where}: side must be left, right or both, and direction 1 or -1")
    return exercise


def builtin_exercises() -> dict[str, Exercise]:
    folder = resources.files(__name__)
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            name = entry.name.removesuffix(".toml")
            out[name] = parse_exercise(name, tomllib.loads(entry.read_text()), entry.name)
    return out


def get_exercise(name: str) -> Exercise:
    exercises = builtin_exercises()
    if name not in exercises:
        raise UsageError(f"unknown exercise {name!r}; valid exercises: {', '.join(exercises)}")
    return exercises[name]


def load_program(path: Path) -> Program:
    """A prescription: ``title`` and ``[[exercise]]`` tables with ``name``, ``sets``, ``reps``,
    ``target_deg``, ``hold_s``, ``rest_s``, ``side``."""
    if not path.is_file():
        raise UsageError(f"no such program file: {path}")
    with open(path, "rb") as f:
        data = tomllib.load(f)
    _check(data, {"title", "exercise"}, str(path))
    items = []
    for entry in data.get("exercise", []):
        _check(entry, {"name", "sets", "reps", "target_deg", "hold_s", "rest_s", "side"}, f"{path} exercise")
        exercise = get_exercise(entry["name"])
        overrides = {k: entry[k] for k in ("target_deg", "hold_s", "side") if k in entry}
        items.append(
            ProgramItem(
                replace(exercise, **overrides),
                int(entry.get("sets", 1)),
                int(entry.get("reps", 0)),
                float(entry.get("rest_s", 30.0)),
            )
        )
    if not items:
        raise UsageError(f"{path}: a program needs at least one [[exercise]]")
    return Program(str(data.get("title", path.stem)), tuple(items))
