"""The live windows' side panel (``romcam exercise`` and ``romcam measure``): everything a patient reads sits in
a dark panel beside the picture, never over the body, sized from the window height so the numbers that matter
(reps, the angle) are legible from 2–3 m on a laptop screen.

Sizes are in units of ``u = height / 720``; OpenCV's Hershey font at scale 1 has capitals about 22 px tall, so the
rep count (scale 3.2) is about 70 px and running text (scale 1.05) about 23 px on a 720-px window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from romcam.output.overlay import FLAGGED_BGR, LEFT_BGR, RIGHT_BGR, current_side, draw_check_mark, side_view_hint

PANEL_WIDTH_PER_HEIGHT = 0.62
"""The panel's width as a share of the window height."""
PANEL_BGR = (30, 26, 24)
TEXT_BGR = (245, 245, 245)
MUTED_BGR = (175, 180, 185)
GOAL_BGR = (70, 150, 70)
VALUE_BGR = (80, 200, 255)
CUE_BGR = (40, 30, 140)
FONT = cv2.FONT_HERSHEY_SIMPLEX
SIDE_BGR = {"left": LEFT_BGR, "right": RIGHT_BGR}


def panel_width_px(height_px: int) -> int:
    return int(round(height_px * PANEL_WIDTH_PER_HEIGHT))


def with_panel(bgr: np.ndarray) -> np.ndarray:
    """The picture with an empty panel to its right."""
    h, w = bgr.shape[:2]
    canvas = np.empty((h, w + panel_width_px(h), 3), np.uint8)
    canvas[:, :w] = bgr
    canvas[:, w:] = PANEL_BGR
    return canvas


@dataclass
class Pen:
    """Writes lines down the panel of ``canvas`` (the columns from ``x0``), from the top."""

    canvas: np.ndarray
    x0: int
    y: int = 0

    @property
    def u(self) -> float:
        return self.canvas.shape[0] / 720

    @property
    def width(self) -> int:
        return self.canvas.shape[1] - self.x0

    def line(self, text: str, size: float, colour: tuple[int, int, int] = TEXT_BGR, x: int = 0) -> int:
        """One line at scale ``size * u``; returns its width in pixels."""
        scale, weight = size * self.u, max(1, round(2.2 * size * self.u))
        (w, h), _ = cv2.getTextSize(text, FONT, scale, weight)
        self.y += h + int(12 * self.u)
        cv2.putText(
            self.canvas, text, (self.x0 + int(18 * self.u) + x, self.y), FONT, scale, colour, weight, cv2.LINE_AA
        )
        return int(w)

    def beside(self, text: str, size: float, colour: tuple[int, int, int], x_px: int) -> None:
        """``text`` on the last line's baseline, ``x_px`` right of where lines start."""
        scale, weight = size * self.u, max(1, round(2.2 * size * self.u))
        cv2.putText(
            self.canvas, text, (self.x0 + int(18 * self.u) + x_px, self.y), FONT, scale, colour, weight, cv2.LINE_AA
        )

    def lines_of(self, text: str, size: float) -> list[str]:
        """``text`` broken into lines that fit the panel's width at scale ``size * u``."""
        room, weight = self.width - int(36 * self.u), max(1, round(2.2 * size * self.u))
        lines, line = [], ""
        for word in text.split():
            trial = f"{line} {word}".strip()
            if line and cv2.getTextSize(trial, FONT, size * self.u, weight)[0][0] > room:
                lines.append(line)
                line = word
            else:
                line = trial
        return [*lines, line] if line else lines

    def line_height(self, size: float) -> int:
        """How far ``line`` moves down for one line at ``size``."""
        (_, h), _ = cv2.getTextSize("Ag", FONT, size * self.u, max(1, round(2.2 * size * self.u)))
        return h + int(12 * self.u)

    def wrapped(self, text: str, size: float, colour: tuple[int, int, int] = TEXT_BGR) -> None:
        """``text`` over as many lines as the panel's width needs."""
        for line in self.lines_of(text, size):
            self.line(line, size, colour)

    def gap(self, px: float) -> None:
        self.y += int(px * self.u)


def draw_gauge(pen: Pen, value: float, exercise: Any, doubt: bool, height_px: int) -> None:
    """A vertical gauge of the exercise's value (``direction * angle``) over ``Exercise.gauge_range``: the
    target zone in green, ticks labelled with joint angles, the value's level (grey when in doubt)."""
    bottom, top = exercise.gauge_range()
    u, canvas = pen.u, pen.canvas
    x, w, y0 = pen.x0 + int(95 * u), int(42 * u), pen.y + int(14 * u)
    y1 = y0 + height_px

    def level(v: float) -> int:
        return int(y1 - height_px * float(np.clip((v - bottom) / (top - bottom), 0, 1)))

    cv2.rectangle(canvas, (x, y0), (x + w, y1), (55, 50, 48), -1)
    cv2.rectangle(canvas, (x, y0), (x + w, level(exercise.target_deg)), GOAL_BGR, -1)
    step = 30 if top - bottom > 120 else 15 if top - bottom > 50 else 10
    for v in np.arange(math.ceil(bottom / step) * step, top + 0.1, step):
        cv2.line(canvas, (x - int(10 * u), level(v)), (x, level(v)), TEXT_BGR, max(1, int(2 * u)))
        label = f"{exercise.direction * v + 0:.0f}"
        (tw, th), _ = cv2.getTextSize(label, FONT, 0.75 * u, max(1, int(2 * u)))
        cv2.putText(
            canvas,
            label,
            (x - int(16 * u) - tw, level(v) + th // 2),
            FONT,
            0.75 * u,
            TEXT_BGR,
            max(1, int(2 * u)),
            cv2.LINE_AA,
        )
    if np.isfinite(value):
        cv2.rectangle(
            canvas, (x + int(6 * u), level(value)), (x + w - int(6 * u), y1), FLAGGED_BGR if doubt else VALUE_BGR, -1
        )
    cv2.rectangle(canvas, (x, y0), (x + w, y1), TEXT_BGR, max(1, int(2 * u)))
    pen.y = y1 + int(10 * u)


def draw_exercise_panel(canvas: np.ndarray, x0: int, state: Any, shown: dict[str, Any], done: bool) -> None:
    """The exercise, the side worked, the rep count, set, the angle on a gauge with its target, the hold time,
    the rest countdown, and the one current cue at the bottom."""
    pen = Pen(canvas, x0)
    item, e, counter = state.item, state.item.exercise, state.counter
    pen.gap(8)
    pen.wrapped(e.title, 1.05)
    name = str(shown.get("name") or "")
    side = name.split("_", 1)[0] if name else e.side
    pen.line("both sides" if side == "both" else f"{side.upper()} side", 1.05, SIDE_BGR.get(side, MUTED_BGR))
    pen.gap(6)
    width = pen.line(str(state.reps_in_set if item.reps else len(counter.reps)), 3.2)
    pen.beside(f"of {item.reps} reps" if item.reps else "reps", 1.0, MUTED_BGR, width + int(16 * pen.u))
    if item.sets > 1:
        pen.line(f"set {state.set_index} of {item.sets}", 1.0, MUTED_BGR)
    _angle_and_gauge(pen, e, shown)
    _status_line(pen, e, counter, shown, done)
    if shown.get("cue"):
        _cue(canvas, x0, str(shown["cue"]))


def _status_line(pen: Pen, e: Any, counter: Any, shown: dict[str, Any], done: bool) -> None:
    """ "Well done!", the rest countdown, or the hold timer of an open rep."""
    rest = float(shown.get("rest_left_s", 0.0))
    if done and rest <= 0:
        pen.line("Well done!", 1.6, (120, 255, 120))
    elif rest > 0:
        pen.line(f"Rest {math.ceil(rest)} s", 1.6, (120, 220, 255))
    elif e.hold_s > 0 and counter.active:
        held = min(counter.current_hold_s(shown.get("t_s", 0.0)), e.hold_s)
        pen.line(f"hold {held:.1f} / {e.hold_s:.0f} s", 1.1, (120, 255, 120))


def _angle_and_gauge(pen: Pen, e: Any, shown: dict[str, Any]) -> None:
    value = float(shown.get("value", math.nan))
    doubt = str(shown.get("doubt") or "")
    top_y = pen.y
    draw_gauge(pen, value, e, bool(doubt), int(0.34 * pen.canvas.shape[0]))
    after = pen.y
    pen.y, pen.x0 = top_y, pen.x0 + int(170 * pen.u)
    angle = e.direction * value
    pen.line(
        f"{angle:.0f}" + ("?" if doubt else "") if np.isfinite(angle) else "--", 2.2, FLAGGED_BGR if doubt else TEXT_BGR
    )
    pen.line("degrees", 0.85, MUTED_BGR)
    pen.line(f"target {e.target_angle_deg:.0f}", 1.0, (120, 220, 120))
    if doubt:
        pen.wrapped(doubt, 0.7, FLAGGED_BGR)
    pen.x0 -= int(170 * pen.u)
    pen.y = max(after, pen.y)


def _cue(canvas: np.ndarray, x0: int, cue: str) -> None:
    """The current cue in a red box at the bottom of the panel."""
    h = canvas.shape[0]
    pen = Pen(canvas, x0)
    box_h = len(pen.lines_of(cue, 1.0)) * pen.line_height(1.0) + int(24 * pen.u)
    cv2.rectangle(canvas, (x0, h - box_h), (canvas.shape[1], h), CUE_BGR, -1)
    pen.y = h - box_h + int(4 * pen.u)
    pen.wrapped(cue, 1.0)


def measure_guidance(protocol: Any, tracks: dict[str, Any]) -> tuple[str, str]:
    """What to do now: which way to face (a side view: the side being measured toward the camera, "Now turn
    round" for the next) and the protocol's instruction for that side (a front view: for the sides measured)."""
    sides = list(tracks)
    if protocol.view != "side":
        return "Face the camera.", protocol.instruction_for(" or ".join(sides))
    done = [len(t.detector.trials) for t in tracks.values()]
    now = current_side(sides, done, protocol.trials)
    return side_view_hint(sides, done, protocol.trials), protocol.instruction_for(now)


def draw_measure_panel(
    canvas: np.ndarray,
    x0: int,
    protocol: Any,
    metrics: dict[str, float],
    tracks: dict[str, Any],
    events: list[tuple[str, str]],
    doubts: dict[str, str],
) -> None:
    """``romcam measure``'s guidance: the protocol, which side to turn to the camera ("Now turn round" for the
    other), the instruction, and per side the trial count, the live angle (grey with "?" and the reason when in
    doubt) and a check mark once the end-range hold is captured."""
    p = protocol
    pen = Pen(canvas, x0)
    pen.gap(8)
    pen.wrapped(p.title, 1.0)
    pen.gap(6)
    hint, instruction = measure_guidance(p, tracks)
    pen.wrapped(hint, 1.0, (120, 220, 255))
    pen.wrapped(instruction, 0.85, MUTED_BGR)
    for side, track in tracks.items():
        det = track.detector
        pen.gap(14)
        trial_no = min(len(det.trials) + (1 if det.in_trial else 0), p.trials) or 1
        pen.line(f"{side.upper()}   trial {trial_no} of {p.trials}", 1.0, SIDE_BGR[side])
        value = p.direction * metrics.get(p.angle_name(side), math.nan)
        doubt = doubts.get(side, "")
        text = "--" if not np.isfinite(value) else f"{value:.0f}" + ("?" if doubt else "")
        width = pen.line(text, 2.2, FLAGGED_BGR if doubt else TEXT_BGR)
        if det.hold_captured or any(s == side and k == "hold" for s, k in events):
            draw_check_mark(canvas, (x0 + int(50 * pen.u) + width, pen.y - int(24 * pen.u)), int(20 * pen.u))
        if doubt:
            pen.wrapped(doubt, 0.7, FLAGGED_BGR)
