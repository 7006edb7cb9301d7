"""``romcam exercise``: a prescribed program with rep counting, holds, form cues and a session record.

Each frame: pose -> causal One Euro filter -> metrics -> ``RepCounter.step`` and the form rules ->
``CueManager``. A webcam and a video file take the same path, so live and recorded counts agree.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

import cv2
import numpy as np

import romcam
from romcam.app.session import live_cleaner, live_source
from romcam.errors import RomcamError
from romcam.exercises import Exercise, FormRule, Program, ProgramItem
from romcam.fileio import check_output_dir, remove_outputs
from romcam.history import History, store_exercise_session
from romcam.kinematics.angles import SIGN_FROM_FACING, forward_vector
from romcam.kinematics.filters import FilterSettings
from romcam.output.words import exercise_record, live_doubt_words
from romcam.pipeline.stream import DriveResult, FrameStream, PoseEstimator, TimedFrame, drive
from romcam.pose.models import LoadedModel
from romcam.results import ExerciseResult, FlagCode, Prescription, RepResult
from romcam.rules.compensation import compensation_value
from romcam.rules.frame_flags import live_doubt
from romcam.rules.reps import CueManager, Rep, RepCounter
from romcam.rules.view import classify_view
from romcam.types import PoseFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExerciseConfig:
    """What ``romcam exercise`` runs."""

    program: Program
    out_dir: Path
    source: str = "0"
    headless: bool = False
    mirror: bool = False
    patient: str | None = None
    db: Path | None = None
    model: str | None = None
    model_variant: str = "full"
    filter: FilterSettings = field(default_factory=lambda: FilterSettings(kind="one_euro"))
    camera_profile: Path | None = None
    neutral: Path | None = None


def primary_value(
    exercise: Exercise, metrics: dict[str, float], xy_px: np.ndarray | None = None, world_m: np.ndarray | None = None
) -> tuple[float, str, FlagCode | None]:
    """``direction * angle`` of the exercise's side, or of the side seen best ("both": the larger value among
    the sides without a live doubt, else among all), the angle it is, and its doubt (``live_doubt``; None without
    landmarks). NaN for an angle whose sign needs the facing (``SIGN_FROM_FACING``) in a frame where the facing
    is not known, so that a backward swing is never counted as a forward one."""
    if xy_px is not None and exercise.angle in SIGN_FROM_FACING and not np.isfinite(forward_vector(xy_px[None])).all():
        return math.nan, "", None
    candidates = []
    for s in exercise.sides():
        name = f"{s}_{exercise.angle}"
        value = exercise.direction * metrics.get(name, math.nan)
        if math.isfinite(value):
            candidates.append((value, name, live_doubt(name, xy_px, world_m) if xy_px is not None else None))
    if not candidates:
        return math.nan, "", None
    trusted = [c for c in candidates if c[2] is None]
    return max(trusted or candidates, key=lambda c: c[0])


def _rule_metrics(rule: FormRule, exercise: Exercise) -> list[str]:
    if "{side}" in rule.angle:
        return [rule.angle.format(side=s) for s in exercise.sides()]
    return [rule.angle]


def live_faults(
    exercise: Exercise,
    metrics: dict[str, float],
    at_start: dict[str, float],
    view: str,
    xy_px: np.ndarray | None = None,
    world_m: np.ndarray | None = None,
) -> list[FormRule]:
    """The form rules broken in this frame (``peak_below`` is judged when the rep ends). A rule on a registry
    angle is judged only where that angle is valid in this frame (``live_doubt`` is None: e.g. knee valgus
    only with the leg in the frontal plane)."""
    broken = []
    for rule in exercise.form:
        if rule.measure == "peak_below" or (rule.view != "any" and rule.view != view):
            continue
        for metric in _rule_metrics(rule, exercise):
            if xy_px is not None and live_doubt(metric, xy_px, world_m) is not None:
                continue
            value = compensation_value(
                rule.measure, np.array([metrics.get(metric, math.nan)]), at_start.get(metric, math.nan)
            )
            if math.isfinite(value) and value > rule.threshold_deg:
                broken.append(rule)
                break
    return broken


@dataclass
class ItemState:
    """Progress through one program item."""

    item: ProgramItem
    counter: RepCounter
    set_index: int = 1
    reps_in_set: int = 0
    rep_sets: list[int] = field(default_factory=list)


def _new_state(item: ProgramItem) -> ItemState:
    e = item.exercise
    counter = RepCounter(
        e.active_above_deg,
        e.rest_below_deg,
        e.target_deg,
        e.hold_tolerance_deg,
        e.direction,
        count_open_at_end=e.count_at == "target",
    )
    return ItemState(item, counter)


class ExerciseSession:
    """The program's state machine over frames: count, check form, cue, rest between sets."""

    def __init__(self, config: ExerciseConfig) -> None:
        self.config = config
        self.states = [_new_state(item) for item in config.program.items]
        self.current = 0
        self.rest_until = -math.inf
        self.cues = CueManager()
        self.cue: str | None = None
        self.at_start: dict[str, float] = {}
        self.cleaner, self.neutral = live_cleaner(config.filter, config.camera_profile, config.neutral)
        self.frames = 0
        self.frames_with_person = 0
        self.frame_size_px: tuple[int, int] | None = None  # set by the frame loop, checked against the neutral
        self.last: dict[str, Any] = {}

    @property
    def done(self) -> bool:
        return self.current >= len(self.states)

    def finish(self) -> None:
        """The recording ended: close the current exercise's open rep if it reached its target zone."""
        if self.done or not self.last:
            return
        state = self.states[self.current]
        rep = state.counter.finish(self.last["t_s"])
        if rep is not None:
            self._complete(state, rep, self.last["t_s"])

    def step(self, pose: PoseFrame | None, t_s: float) -> dict[str, Any]:
        """Advance by one frame; returns what a display needs to show."""
        self.frames += 1
        if pose is not None:
            self.frames_with_person += 1
        xy, metrics = self.cleaner.step(pose, t_s, self.frame_size_px)
        self.last = {"xy": xy, "metrics": metrics, "t_s": t_s, "rest_left_s": max(0.0, self.rest_until - t_s)}
        if self.done or t_s < self.rest_until:
            return self.last
        state = self.states[self.current]
        exercise = state.item.exercise
        world = pose.world_m if pose is not None else None
        value, name, doubt_code = primary_value(exercise, metrics, xy, world)
        was_active = state.counter.active
        rep = state.counter.step(value, t_s, (str(doubt_code),) if doubt_code else ())
        if state.counter.active and not was_active:
            self.at_start = dict(metrics)
        view = self._check_form(state, metrics, xy, world, t_s)
        if rep is not None:
            self._complete(state, rep, t_s)
        doubt = live_doubt_words(name, doubt_code) if name else ""
        self.last |= {"value": value, "name": name, "view": view, "cue": self.cue, "doubt": doubt}
        return self.last

    def _check_form(
        self, state: ItemState, metrics: dict[str, float], xy: np.ndarray, world: np.ndarray | None, t_s: float
    ) -> str:
        """Note the form faults of this frame on the open rep and choose the cue; returns the frame's view."""
        view = str(classify_view(xy[None])[0])
        exercise = state.item.exercise
        broken = live_faults(exercise, metrics, self.at_start, view, xy, world) if state.counter.active else []
        for rule in broken:
            state.counter.note_fault(rule.name)
        self.cue = self.cues.step([r.cue for r in broken], t_s)
        return view

    def _complete(self, state: ItemState, rep: Rep, t_s: float) -> None:
        exercise = state.item.exercise
        extra = [r.name for r in exercise.form if r.measure == "peak_below" and rep.peak_deg < r.threshold_deg]
        if extra:
            rep = replace(rep, faults=rep.faults + tuple(extra))
            state.counter.reps[-1] = rep
            cue = next(r.cue for r in exercise.form if r.name == extra[0])
            self.cue = self.cues.step([cue], t_s)
        state.rep_sets.append(state.set_index)
        state.reps_in_set += 1
        item = state.item
        if item.reps and state.reps_in_set >= item.reps:
            if state.set_index < item.sets:
                state.set_index, state.reps_in_set = state.set_index + 1, 0
            else:
                self.current += 1
            self.rest_until = t_s + item.rest_s

    def summary(self) -> list[ExerciseResult]:
        """Each program item's typed result (``output.words.exercise_record`` makes session.json of it)."""
        out = []
        for state in self.states:
            e, item, reps = state.item.exercise, state.item, state.counter.reps
            faults = Counter(f for r in reps for f in r.faults)
            holds = sum(1 for r in reps if e.hold_s > 0 and r.hold_s >= e.hold_s and not r.faults)
            out.append(
                ExerciseResult(
                    name=e.name,
                    title=e.title,
                    prescribed=Prescription(item.sets, item.reps, e.target_deg, e.hold_s, item.rest_s),
                    reps=tuple(
                        RepResult(r, s, e.direction * r.peak_deg >= e.target_deg)
                        for r, s in zip(reps, state.rep_sets, strict=True)
                    ),
                    holds_achieved=holds,
                    form_faults=dict(faults),
                )
            )
        return out


def run_exercise(config: ExerciseConfig) -> dict[str, Any]:
    """Run the program over the source and write session.json (and the annotated video when headless)."""
    check_output_dir(config.out_dir)
    with live_source(config.source, config.mirror, config.model, config.model_variant) as (source, pose, model):
        display = _Display(config, source.info) if not config.headless else None
        writer = _headless_writer(config, source.info) if config.headless else None
        return exercise_over(config, source, cast(PoseEstimator, pose), model, display, writer)


class ExerciseDisplay(Protocol):
    """Where a running session is shown: the OpenCV window, or the browser app's WebSocket. ``show`` returns
    False when the user stops; ``close`` runs once at the end."""

    def show(self, bgr: np.ndarray, session: ExerciseSession, shown: dict[str, Any]) -> bool: ...

    def close(self) -> None: ...


def exercise_over(
    config: ExerciseConfig,
    source: FrameStream,
    estimator: PoseEstimator,
    model: LoadedModel,
    display: ExerciseDisplay | None = None,
    writer: Any = None,
) -> dict[str, Any]:
    """The session over an opened frame source (a camera, a video, or the browser's frames): the live loop,
    then session.json and the history, exactly as ``romcam exercise`` saves them."""
    check_output_dir(config.out_dir)
    remove_outputs(config.out_dir, ("session.json", "annotated.mp4"))
    started = datetime.now(UTC).isoformat(timespec="seconds")
    session = ExerciseSession(config)
    session.frame_size_px = (source.info.width_px, source.info.height_px)
    start_wall = time.perf_counter()
    try:
        ended = drive(source, estimator, _player(session, display, writer))
    finally:
        if writer is not None:
            writer.close()
        if display is not None:
            display.close()
    if session.frames == 0:
        if ended.interrupted:  # Ctrl-C before the first frame: nothing to save, and nothing wrong with the source
            raise KeyboardInterrupt
        raise RomcamError(f"{config.source}: no frame could be read")
    if not ended.interrupted:
        session.finish()
    return _finish(config, session, source.info, model, started, ended, time.perf_counter() - start_wall)


def _player(
    session: ExerciseSession, display: ExerciseDisplay | None, writer: Any
) -> Callable[[TimedFrame, PoseFrame | None], bool]:
    """The step of the live loop: advance the session, show or write the frame; False to stop (the user quit,
    or the program is done and its last rest is over)."""

    def step(frame: TimedFrame, pose: PoseFrame | None) -> bool:
        shown = session.step(pose, frame.t_s)
        if writer is not None:
            writer.write(_compose(frame.bgr, session, shown, mirror_display=False))
        if display is not None and not display.show(frame.bgr, session, shown):
            return False
        return not (session.done and shown["rest_left_s"] <= 0)

    return step


def _finish(
    config: ExerciseConfig,
    session: ExerciseSession,
    info: Any,
    model: LoadedModel,
    started: str,
    ended: DriveResult,
    seconds: float,
) -> dict[str, Any]:
    from romcam.output.tables import write_json

    exercises = session.summary()
    record: dict[str, Any] = {
        "romcam_version": romcam.__version__,
        "patient": config.patient,
        "started_at": started,
        "program": config.program.title,
        "source": asdict(info),
        "model": model.describe(),
        "filter": asdict(config.filter),
        "frames": {"count": session.frames, "with_person": session.frames_with_person},
        "stopped_early": ended.quit_early and not session.done,
        "interrupted": ended.interrupted,
        "exercises": [exercise_record(e) for e in exercises],
    }
    write_json(config.out_dir / "session.json", record)
    if config.patient:
        try:
            with History.open(config.db) as history:
                record["session_id"] = store_exercise_session(history, record)
            write_json(config.out_dir / "session.json", record)
        except RomcamError as exc:  # the file stays; the caller reports this after the results
            record["history_error"] = (
                f"the session is saved in {config.out_dir / 'session.json'} but not in the history ({exc}); "
                f"add it later with: romcam history import {config.out_dir / 'session.json'}"
            )
    if session.frames_with_person == 0:
        raise RomcamError(
            f"no person detected in any of the {session.frames} frames of {config.source}; "
            f"session written to {config.out_dir / 'session.json'}"
        )
    return record


# --- drawing ----------------------------------------------------------------------------------


def _compose(bgr: np.ndarray, session: ExerciseSession, shown: dict[str, Any], mirror_display: bool) -> np.ndarray:
    """The picture (at least 720 px tall, mirrored for a webcam) with the skeleton, and the panel beside it."""
    from romcam.output.overlay import draw_skeleton
    from romcam.output.panel import draw_exercise_panel, with_panel

    scale = max(1.0, 720 / bgr.shape[0])
    image = cv2.resize(bgr, None, fx=scale, fy=scale) if scale > 1 else bgr.copy()
    xy = shown["xy"] * scale
    if mirror_display:
        image = cv2.flip(image, 1)
        xy = xy.copy()
        xy[:, 0] = image.shape[1] - xy[:, 0]
    draw_skeleton(image, xy)
    canvas = with_panel(image)
    state = session.states[min(session.current, len(session.states) - 1)]
    draw_exercise_panel(canvas, image.shape[1], state, shown, session.done)
    return canvas


def _headless_writer(config: ExerciseConfig, info: Any) -> Any:
    from romcam.output.overlay import AnnotatedVideoWriter
    from romcam.output.panel import panel_width_px

    scale = max(1.0, 720 / info.height_px)
    height = int(round(info.height_px * scale))
    width = int(round(info.width_px * scale)) + panel_width_px(height)
    return AnnotatedVideoWriter(config.out_dir / "annotated.mp4", info.fps or 30.0, width, height)


class _Display:
    """The live window: a mirrored picture for webcams; space pauses, q or Esc quits (what was done is kept)."""

    name = "romcam exercise"

    def __init__(self, config: ExerciseConfig, info: Any) -> None:
        self.mirror_display = info.kind == "camera"
        cv2.namedWindow(self.name, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)

    def show(self, bgr: np.ndarray, session: ExerciseSession, shown: dict[str, Any]) -> bool:
        cv2.imshow(self.name, _compose(bgr, session, shown, self.mirror_display))
        key = cv2.waitKey(1) & 0xFF
        while key == ord(" "):  # paused until space again
            key = cv2.waitKey(100) & 0xFF
            if key == ord(" "):
                break
            if key in (ord("q"), 27):
                return False
            key = ord(" ")
        return key not in (ord("q"), 27)

    def close(self) -> None:
        cv2.destroyWindow(self.name)
