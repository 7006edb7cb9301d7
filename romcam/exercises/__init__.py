"""The exercise library (TOML files in this folder) and exercise programs, as frozen dataclasses."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from romcam.definitions import build, check_metric, read_toml
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
    (hysteresis: the gap between the two stops jitter from double-counting). ``active_above_deg``,
    ``rest_below_deg`` and ``target_deg`` are all on the value: for ``direction = -1`` a target of -15 on knee
    flexion is a knee within 15 deg of straight (``target_angle_deg`` gives it as the angle).
    ``count_at = "target"``: the rep is
    the rise to the target itself, so one still open when the recording ends counts once it reached the target
    zone (a chair stand counts each full stand); "rest" (default): a rep needs the return to rest."""

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
    count_at: str = "rest"
    form: tuple[FormRule, ...] = ()

    @property
    def target_angle_deg(self) -> float:
        """The target as the joint angle (``direction * target_deg``)."""
        return self.direction * self.target_deg

    def gauge_range(self) -> tuple[float, float]:
        """(bottom, top) of a gauge of the value: from rest (or 0) to beyond the target, so the target zone
        [``target_deg``, top] is the upper part of the gauge for either direction."""
        span = self.active_above_deg - self.rest_below_deg
        bottom = min(0.0, self.rest_below_deg - 0.5 * span)
        return bottom, self.target_deg + 0.4 * (self.target_deg - bottom)

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


VIEWS = ("any", "front", "side")
COUNT_AT = ("rest", "target")
SIDES = ("left", "right", "both")


def parse_exercise(name: str, data: dict[str, Any], where: str = "") -> Exercise:
    """Build an exercise from TOML data; ``UsageError`` naming the file and key for anything wrong."""
    where = where or name
    choices = {"measure": FORM_MEASURES, "view": VIEWS, "side": SIDES, "direction": (1, -1), "count_at": COUNT_AT}
    exercise = build(Exercise, data, where, given={"name": name}, choices=choices)
    if exercise.active_above_deg <= exercise.rest_below_deg:
        raise UsageError(f"{where}: active_above_deg must be above rest_below_deg (hysteresis)")
    check_metric("{side}_" + exercise.angle, where)
    for rule in exercise.form:
        check_metric(rule.angle, f"{where} form rule {rule.name!r}", extra=("primary",))
    return exercise


@dataclass(frozen=True)
class _ProgramEntry:
    """One ``[[exercise]]`` table of a program file: a library exercise and its prescription."""

    name: str
    sets: int = 1
    reps: int = 0
    rest_s: float = 30.0
    target_deg: float | None = None
    hold_s: float | None = None
    side: str | None = None


@dataclass(frozen=True)
class _ProgramFile:
    title: str = ""
    exercise: tuple[_ProgramEntry, ...] = ()


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


def single_exercise_program(name: str, side: str | None = None) -> Program:
    """One library exercise (its side overridden by ``side``) as a program of one item, every rep counted."""
    exercise = get_exercise(name)
    exercise = replace(exercise, side=side) if side else exercise
    return Program(exercise.title, (ProgramItem(exercise, sets=1, reps=0, rest_s=0.0),))


def load_program(path: Path) -> Program:
    """A prescription: ``title`` and ``[[exercise]]`` tables with ``name``, ``sets``, ``reps``,
    ``target_deg``, ``hold_s``, ``rest_s``, ``side``."""
    where = str(path)
    program = build(_ProgramFile, read_toml(path), where, choices={"side": SIDES})
    if not program.exercise:
        raise UsageError(f"{where}: a program needs at least one [[exercise]]")
    items = []
    for entry in program.exercise:
        if entry.sets < 1 or entry.reps < 0 or entry.rest_s < 0:
            raise UsageError(f"{where} exercise {entry.name!r}: sets must be >= 1, reps >= 0 and rest_s >= 0")
        exercise = get_exercise(entry.name)
        overrides = {k: getattr(entry, k) for k in ("target_deg", "hold_s", "side") if getattr(entry, k) is not None}
        items.append(ProgramItem(replace(exercise, **overrides), entry.sets, entry.reps, entry.rest_s))
    return Program(program.title or path.stem, tuple(items))
