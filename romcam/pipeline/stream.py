"""Frames in, a pose sequence out, through any estimator that follows ``PoseEstimator``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from queue import Full, Queue
from typing import Any, Protocol, TypeVar

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


T = TypeVar("T")

READ_AHEAD_ITEMS = 2
"""Frames decoded ahead of the model in ``estimate_sequence`` (each a few MB)."""


@dataclass(frozen=True)
class _End:
    """The reader's last word: the items ran out, or reading them raised ``error``."""

    error: BaseException | None


class _Reader(threading.Thread):
    """Reads ``items`` into a queue of ``depth`` until they run out or ``stop`` is set (``read_ahead``)."""

    def __init__(self, items: Iterable[Any], depth: int) -> None:
        super().__init__(name="romcam-read-ahead", daemon=True)
        self.items, self.queue, self.stop = items, Queue[Any](maxsize=max(1, depth)), threading.Event()

    def put(self, item: Any) -> bool:
        """Queue ``item`` when there is room; False when told to stop first."""
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.05)
                return True
            except Full:
                continue
        return False

    def run(self) -> None:
        iterator = iter(self.items)
        error: BaseException | None = None
        try:
            for item in iterator:
                if not self.put(item):
                    return
        except Exception as exc:  # raised again on the consumer's side, in order
            error = exc
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
        self.put(_End(error))


def read_ahead(items: Iterable[T], depth: int = READ_AHEAD_ITEMS) -> Generator[T, None, None]:
    """``items`` in order, read up to ``depth`` ahead on a background thread: decoding the next frame overlaps the
    model's work on this one (OpenCV's decoder and MediaPipe's graph let go of the interpreter lock while they
    work, and the bare decode + inference loop keeps about one core busy). An error raised while reading is
    raised here, after the items read before it. Closing this iterator (``contextlib.closing``; a loop left by
    ``break``, Ctrl-C or an error) stops the reader, closes ``items``' iterator on the reader's thread and waits
    for it: nothing is still reading from a source its owner is about to close."""
    reader = _Reader(items, depth)
    reader.start()
    try:
        while not isinstance(item := reader.queue.get(), _End):
            yield item
        if item.error is not None:
            raise item.error
    finally:
        reader.stop.set()
        reader.join()


def estimate_sequence(
    source: FrameStream,
    estimator: PoseEstimator,
    progress: ProgressFn | None = None,
    spill_dir: Path | None = None,
) -> tuple[PoseSequence | None, bool]:
    """Run ``estimator.estimate`` on every frame; returns the sequence (None: no frame could be read) and whether
    Ctrl-C cut it short. Ctrl-C before the first frame was measured raises ``KeyboardInterrupt``: there is
    nothing to keep, and the source is not to blame.

    With ``spill_dir`` the landmarks go to disk as they come, in blocks (``SequenceBuilder``): memory does not
    grow with the recording's length while the model runs."""
    collected = SequenceBuilder(source.info.width_px, source.info.height_px, spill_dir=spill_dir)
    interrupted = False
    total = source.info.frame_count_header
    try:
        with closing(read_ahead(source)) as frames:  # the next frame decodes while the model works on this one
            for frame in frames:
                collected.append(estimator.estimate(frame.bgr, frame.t_s), frame.t_s)
                if progress:
                    progress(len(collected), total)
    except KeyboardInterrupt:
        if not len(collected):
            raise
        interrupted = True
    if not len(collected):
        return None, False
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
