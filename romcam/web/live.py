"""Live sessions of the browser app: ``romcam exercise`` and ``romcam measure`` run unchanged
(``app.exercise.exercise_over``, ``app.measure.measure_over``) over the page's frames (``BrowserCamera``), and
each processed frame's state goes back to the page as JSON. The rules live in those use cases, never here."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np

from romcam.app.exercise import ExerciseConfig, ExerciseSession, exercise_over
from romcam.app.measure import MeasureConfig, SideTrack, measure_over
from romcam.app.session import live_model
from romcam.errors import RomcamError
from romcam.output.panel import measure_guidance
from romcam.output.words import live_doubt_words
from romcam.pipeline.stream import PoseEstimator
from romcam.pose.models import DEFAULT_VARIANT
from romcam.rules.frame_flags import live_doubt
from romcam.web.camera import BrowserCamera

Publish = Callable[[dict[str, Any]], None]
"""Sends one message to the page (thread-safe: called from the live loop's thread)."""


def _finite(value: float, digits: int = 1) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def landmarks_01(xy_px: np.ndarray, width_px: int, height_px: int) -> list[list[float] | None]:
    """The (33, 2) pixel landmarks as fractions of the frame (what the page draws over its video); None where
    the landmark is missing."""
    out: list[list[float] | None] = []
    for x, y in xy_px:
        out.append(
            [round(float(x) / width_px, 4), round(float(y) / height_px, 4)] if np.isfinite([x, y]).all() else None
        )
    return out


def exercise_state(session: ExerciseSession, shown: dict[str, Any], t_ms: float) -> dict[str, Any]:
    """What the exercise page shows for one processed frame: skeleton, the primary angle and its gauge, the side
    worked, set and rep counters, hold time, rest countdown, the one current cue, and whether the program is done.

    ``value`` is ``direction * angle`` (rises toward the target) and the gauge is in its units (its tick labels are
    angles); ``angle_deg`` and ``target_deg`` are the joint angle itself.
    """
    state = session.states[min(session.current, len(session.states) - 1)]
    item, e, counter = state.item, state.item.exercise, state.counter
    width, height = session.frame_size_px or (1, 1)
    value = float(shown.get("value", math.nan))
    angle_name = str(shown.get("name", ""))
    t_s = float(shown.get("t_s", 0.0))
    bottom, top = e.gauge_range()
    return {
        "type": "state",
        "t_ms": t_ms,
        "landmarks": landmarks_01(shown["xy"], width, height),
        "exercise": e.title,
        "item": session.current + 1,
        "items": len(session.states),
        "side": angle_name.split("_", 1)[0] if angle_name else e.side,
        "angle": angle_name,
        "value": _finite(value),
        "angle_deg": _finite(e.direction * value),
        "doubt": shown.get("doubt", ""),
        "gauge": {"bottom": bottom, "top": top, "target": e.target_deg, "direction": e.direction},
        "target_deg": e.target_angle_deg,
        "set": state.set_index,
        "sets": item.sets,
        "reps_in_set": state.reps_in_set,
        "reps_per_set": item.reps,
        "reps_total": len(counter.reps),
        "last_peak_deg": _finite(counter.reps[-1].peak_deg) if counter.reps else None,  # reps keep angles
        "active": counter.active,
        "hold_s": _finite(min(counter.current_hold_s(t_s), e.hold_s), 1) if e.hold_s > 0 and counter.active else None,
        "hold_target_s": e.hold_s,
        "rest_left_s": _finite(float(shown.get("rest_left_s", 0.0)), 1),
        "cue": shown.get("cue") or "",
        "done": session.done,
    }


def measure_state(
    config: MeasureConfig,
    xy: np.ndarray,
    metrics: dict[str, float],
    tracks: dict[str, SideTrack],
    frame: tuple[float, int, int],
) -> dict[str, Any]:
    """What the measurement page shows for one processed frame: the same guidance as ``romcam measure``'s window
    (the instruction, which side to turn to the camera, then "Now turn round"), and per side the trial count,
    the live angle with its doubt, and whether the end-range hold was captured. ``frame``: (t_ms, width, height).
    """
    p = config.protocol
    t_ms, width, height = frame
    done = [len(t.detector.trials) for t in tracks.values()]
    hint, instruction = measure_guidance(p, tracks)
    side_rows = []
    for side, track in tracks.items():
        name = p.angle_name(side)
        det = track.detector
        side_rows.append(
            {
                "side": side,
                "angle": name,
                "value_deg": _finite(p.direction * metrics.get(name, math.nan)),
                "doubt": live_doubt_words(name, live_doubt(name, xy)),
                "trial": min(len(det.trials) + (1 if det.in_trial else 0), p.trials) or 1,
                "trials_done": len(det.trials),
                "held": det.hold_captured,
            }
        )
    return {
        "type": "state",
        "t_ms": t_ms,
        "landmarks": landmarks_01(xy, width, height),
        "protocol": p.title,
        "instruction": f"{hint} {instruction}",
        "trials_needed": p.trials,
        "normal_deg": p.normal_deg,
        "sides": side_rows,
        "all_done": all(d >= p.trials for d in done),
    }


class _ExerciseDisplay:
    """``app.exercise.ExerciseDisplay`` for the page: publishes each frame's state; False once stopped."""

    def __init__(self, camera: BrowserCamera, publish: Publish) -> None:
        self.camera, self.publish = camera, publish

    def show(self, bgr: np.ndarray, session: ExerciseSession, shown: dict[str, Any]) -> bool:
        self.publish(exercise_state(session, shown, self.camera.current_t_ms) | {"dropped": self.camera.dropped})
        return not self.camera.stop_requested

    def close(self) -> None:
        pass


class _MeasureDisplay:
    """``app.measure.MeasureDisplay`` for the page: publishes each frame's state; False once stopped."""

    def __init__(self, config: MeasureConfig, camera: BrowserCamera, publish: Publish) -> None:
        self.config, self.camera, self.publish = config, camera, publish

    def show(
        self,
        bgr: np.ndarray,
        xy: np.ndarray,
        metrics: dict[str, float],
        tracks: dict[str, SideTrack],
        events: list[tuple[str, str]],
    ) -> bool:
        size = (self.camera.info.width_px, self.camera.info.height_px)
        message = measure_state(self.config, xy, metrics, tracks, (self.camera.current_t_ms, *size))
        self.publish(message | {"events": [f"{s}:{k}" for s, k in events], "dropped": self.camera.dropped})
        return not self.camera.stop_requested

    def close(self) -> None:
        pass


SAVE_WAIT_S = 60.0
"""How long a page's connection waits, once it ends, for its session to be saved."""


@dataclass
class LiveRun:
    """One page's live session: a thread runs the use case over ``camera`` and publishes states, then the
    saved record (``{"type": "saved", ...}``) or the error (``{"type": "error", ...}``)."""

    camera: BrowserCamera
    publish: Publish
    model: str | None = None
    model_variant: str | None = None  # None: the protocol's for a measurement, else full
    thread: threading.Thread | None = None

    def start_exercise(self, config: ExerciseConfig) -> None:
        display = _ExerciseDisplay(self.camera, self.publish)
        self._start(
            config.out_dir.name,
            lambda estimator, model: exercise_over(config, self.camera, estimator, model, display),
            DEFAULT_VARIANT,
        )

    def start_measure(self, config: MeasureConfig) -> None:
        config = replace(config, headless=True, mode="live")
        display = _MeasureDisplay(config, self.camera, self.publish)
        self._start(
            config.out_dir.name,
            lambda estimator, model: measure_over(config, self.camera, estimator, model, display),
            config.protocol.model_variant,
        )

    def _start(self, folder: str, run: Callable[[PoseEstimator, Any], dict[str, Any]], preferred: str) -> None:
        """Run the use case in a thread with the model variant chosen, else ``preferred``; its result folder's
        name goes to the page with the saved record."""

        def work() -> None:
            try:
                with live_model(self.model, self.model_variant, preferred) as (pose, loaded):
                    record = run(cast(PoseEstimator, pose), loaded)
                self.publish({"type": "saved", "record": record | {"folder": folder}})
            except RomcamError as exc:
                self.publish({"type": "error", "message": str(exc), "fatal": True, "folder": folder})
            except Exception as exc:  # noqa: BLE001 - the page must hear why the session ended
                self.publish({"type": "error", "message": f"internal error: {exc!r}", "fatal": True})

        self.thread = threading.Thread(target=work, name="romcam-live", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """The user stopped (or left): the loop ends after its current frame and saves what was done."""
        self.camera.close(stop=True)

    def wait_saved(self, timeout_s: float = SAVE_WAIT_S) -> None:
        """Wait (up to ``timeout_s``) until the session's thread has saved what was done and ended: the server
        does not exit under a session that is still writing its record (Ctrl-C on ``romcam serve``)."""
        if self.thread is not None:
            self.thread.join(timeout_s)
