"""Frames in, a pose sequence out, through any estimator that follows ``PoseEstimator``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from romcam.types import PoseFrame, PoseSequence, ProgressFn, SequenceBuilder


class PoseEstimator(Protocol):
    """What the pipeline needs of a pose model: one BGR frame and its time in, the subject's pose (or None) out.

    ``romcam.pose.mediapipe_pose.MediaPipePose`` (the model) and ``romcam.pose.replay.ReplayEstimator``
    (saved landmarks) follow it; colour conversion and model details stay inside them.
    """

    def estimate(self, frame_bgr: np.ndarray, t_s: float) -> PoseFrame | None: ...


class TimedFrame(Protocol):
    """A decoded frame: BGR pixels and its time in seconds (``romcam.capture.source.Frame``)."""

    @property
    def bgr(self) -> np.ndarray: ...

    @property
    def t_s(self) -> float: ...


class FrameStream(Protocol):
    """An iterable of timed frames whose ``info`` knows the frame size and the declared frame count
    (``romcam.capture.source.FrameSource``)."""

    info: Any

    def __iter__(self) -> Iterator[TimedFrame]: ...


def estimate_sequence(
    source: FrameStream,
    estimator: PoseEstimator,
    progress: ProgressFn | None = None,
    spill_dir: Path | None = None,
) -> tuple[PoseSequence | None, bool]:
    """Run ``estimator.estimate`` on every frame; returns the sequence and whether Ctrl-C cut it short.

    With ``spill_dir`` the landmarks go to disk as they come, in blocks (``SequenceBuilder``): memory does not
    grow with the recording's length while the model runs."""
    collected = SequenceBuilder(source.info.width_px, source.info.height_px, spill_dir=spill_dir)
    interrupted = False
    total = source.info.frame_count_header
    try:
        for frame in source:
            collected.append(estimator.estimate(frame.bgr, frame.t_s), frame.t_s)
            if progress:
                progress(len(collected), total)
    except KeyboardInterrupt:
        interrupted = True
    if not len(collected):
        return None, interrupted
    return collected.build(), interrupted


@dataclass(frozen=True)
class DriveResult:
    """How a live loop ended: the step asked to stop (``quit_early``: q, Esc, or the session is done) or
    Ctrl-C stopped it (``interrupted``, which is also ``quit_early``)."""

    quit_early: bool
    interrupted: bool


def drive(
    frames: Iterable[TimedFrame], estimator: PoseEstimator, step: Callable[[TimedFrame, PoseFrame | None], bool]
) -> DriveResult:
    """The one live loop: each frame's pose goes to ``step`` until it returns False or Ctrl-C is pressed.

    Every live use case (measure, exercise, the browser app) runs through it, with the model or the replay
    of saved landmarks as ``estimator``.
    """
    try:
        for frame in frames:
            if not step(frame, estimator.estimate(frame.bgr, frame.t_s)):
                return DriveResult(True, False)
    except KeyboardInterrupt:
        return DriveResult(True, True)
    return DriveResult(False, False)
