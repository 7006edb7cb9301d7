"""The only module that imports MediaPipe: a PoseLandmarker adapter returning ``PoseFrame`` objects."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

import cv2
import numpy as np

from romcam.errors import RomcamError
from romcam.kinematics.filters import is_cut
from romcam.pose.select import SubjectTracker, same_person
from romcam.types import PoseFrame

log = logging.getLogger(__name__)


def _to_pose_frame(image_landmarks: list, world_landmarks: list, width_px: int, height_px: int) -> PoseFrame:
    norm = np.array([[lm.x, lm.y] for lm in image_landmarks], dtype=float)
    xy = norm * np.array([width_px, height_px], dtype=float)
    world = np.array([[lm.x, lm.y, lm.z] for lm in world_landmarks], dtype=float)
    vis = np.array([lm.visibility if lm.visibility is not None else np.nan for lm in image_landmarks])
    return PoseFrame(xy, world, vis)


class MediaPipePose:
    """MediaPipe Tasks ``PoseLandmarker`` following one subject; a bystander never replaces the measured person.

    Looking for a second person makes MediaPipe run its person detector on every frame (about 60 % more time
    per frame), so by default (``track_one=True``) the subject is tracked with ``num_poses=1`` in VIDEO mode and
    everyone in view is looked for only now and then: on the first frame, every ``check_every_s`` seconds, at a
    scene cut (``kinematics.filters.is_cut``) and whenever the tracked pose is not one the ``SubjectTracker``
    would accept (it jumped away from the subject). A check runs an IMAGE-mode landmarker with ``num_poses``
    people; the tracked pose counts as a candidate too, and the one nearest the subject's last position wins.
    When that is not the tracked pose, estimation follows everyone on every frame (VIDEO mode, ``num_poses``)
    until only one person has been in view for ``check_every_s``. At a scene cut of the subject the one-pose
    tracking restarts, so MediaPipe's smoothing never blends two scenes. ``track_one=False`` follows everyone on
    every frame from the start; ``num_poses=1`` never checks. On the rendered development and held-out sets
    tracking one pose gives smaller errors (README, Accuracy). A check that is due by the clock runs on a second
    thread while the tracking runs on the same frame (the two graphs share no state and let go of the
    interpreter lock), so on a machine with a core to spare it costs no time; the result is the same as one
    after the other. Use as a context manager to free the graphs and the thread.
    """

    def __init__(
        self,
        model: Path | bytes,
        num_poses: int = 2,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        check_every_s: float = 2.0,
        track_one: bool = True,
    ) -> None:
        from mediapipe import Image, ImageFormat

        self._image_cls, self._format = Image, ImageFormat.SRGB
        self._model = model
        self._confidence = (min_detection_confidence, min_tracking_confidence)
        self.num_poses, self.check_every_s = num_poses, check_every_s
        self.track_one = track_one or num_poses <= 1
        self._everyone: Any = None  # IMAGE mode, num_poses people: the checks, made and used on the checking thread
        self._single: Any = None  # VIDEO mode, one pose: the tracking
        self._multi: Any = None  # VIDEO mode, num_poses people: following everyone
        self._checker: ThreadPoolExecutor | None = None
        try:
            with ctrl_c_held():
                if self.track_one and num_poses > 1:
                    self._checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="romcam-check")
                    self._checker.submit(self._make_everyone)  # while the tracking's graph is made here
                if self.track_one:
                    self._single = self._landmarker("video", 1)
                else:
                    self._multi = self._landmarker("video", num_poses)
        except BaseException:  # a model that does not load, or Ctrl-C: nothing is left running
            self.close()
            raise
        self._multi_until_s = -np.inf if self.track_one else np.inf
        self._next_check_s = -np.inf
        self.tracker = SubjectTracker()
        self.checks = 0
        self.multi_frames = 0
        self._last_ms = -1
        self._last: PoseFrame | None = None  # the last pose the one-pose tracking gave

    def _landmarker(self, mode: str, num_poses: int) -> Any:
        from mediapipe.tasks.python import BaseOptions, vision

        model = self._model
        options = vision.PoseLandmarkerOptions(
            base_options=(
                BaseOptions(model_asset_buffer=model)
                if isinstance(model, bytes)
                else BaseOptions(model_asset_path=str(model))
            ),
            running_mode=vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE,
            num_poses=num_poses,
            min_pose_detection_confidence=self._confidence[0],
            min_tracking_confidence=self._confidence[1],
        )
        try:
            return vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            what = "the model" if isinstance(model, bytes) else f"the model {model}"
            raise RomcamError(f"MediaPipe could not load {what}: {exc}") from exc

    def estimate(self, frame_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        """The measured subject's pose in this BGR frame (H, W, 3) as OpenCV decodes it, taken at ``t_s``
        seconds, or None if nobody (or only a bystander) is in view. The colour conversion MediaPipe needs
        happens here, at the edge. Ctrl-C during the call takes effect when it returns (``ctrl_c_held``)."""
        with ctrl_c_held():
            return self._estimate(frame_bgr, t_s)

    def _estimate(self, frame_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        t_ms = max(int(round(t_s * 1000.0)), self._last_ms + 1)
        self._last_ms = t_ms
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        image = self._image_cls(image_format=self._format, data=np.ascontiguousarray(rgb))
        size = (frame_bgr.shape[1], frame_bgr.shape[0])
        if self._multi is not None:
            return self._follow_everyone(image, t_ms, t_s, size)
        assert self._single is not None  # tracking one pose whenever not following everyone
        due = self._start_check(image, size) if self.num_poses > 1 and t_s >= self._next_check_s else None
        tracked = _poses(self._single.detect_for_video(image, t_ms), *size)
        cut = self._tracked_cut(tracked)
        if self.num_poses <= 1:
            return self.tracker.step(tracked, t_s)
        routine = due is None and (not tracked or self.tracker.accepts(tracked, t_s))
        if routine and not cut:
            return self.tracker.step(tracked, t_s)
        everyone = (due or self._start_check(image, size)).result()
        return self._check(everyone, image, tracked, t_ms, t_s, size, cut)

    def _tracked_cut(self, tracked: list[PoseFrame]) -> bool:
        """Whether the tracked pose moved like a scene cut (``is_cut``) since the last one; remembers it."""
        last, self._last = self._last, tracked[0] if tracked else self._last
        return bool(tracked) and last is not None and bool(is_cut(last.xy_px[None], tracked[0].xy_px[None])[0])

    def _make_everyone(self) -> Any:
        """The IMAGE-mode landmarker of the checks, made on first use (on the checking thread)."""
        if self._everyone is None:
            self._everyone = self._landmarker("image", self.num_poses)
        return self._everyone

    def _everyone_in(self, image: Any, size: tuple[int, int]) -> list[PoseFrame]:
        """Everyone the IMAGE-mode landmarker finds in ``image``."""
        return _poses(self._make_everyone().detect(image), *size)

    def _start_check(self, image: Any, size: tuple[int, int]) -> Future[list[PoseFrame]]:
        """``_everyone_in`` of ``image`` on the checking thread, after whatever it was doing (one thread: the
        IMAGE-mode landmarker is only ever used by it)."""
        assert self._checker is not None  # made whenever checks are made
        return self._checker.submit(self._everyone_in, image, size)

    def _check(
        self,
        everyone: list[PoseFrame],
        image: Any,
        tracked: list[PoseFrame],
        t_ms: int,
        t_s: float,
        size: tuple[int, int],
        cut: bool,
    ) -> PoseFrame | None:
        """The subject among ``everyone`` in view and the ``tracked`` pose (``SubjectTracker``): the tracked pose
        is kept when it is the subject (at a scene ``cut`` the one-pose tracking restarts, so MediaPipe's
        smoothing does not blend two scenes), else estimation follows everyone from this frame on."""
        self.checks += 1
        self._next_check_s = t_s + self.check_every_s
        # the tracked pose is a candidate too: the one nearest the subject's last position wins
        chosen = self.tracker.step([*everyone, *tracked], t_s)
        if not tracked:
            return chosen
        if chosen is not None and same_person(chosen, tracked[0]):
            return self._restart_single(image, t_ms, size, tracked[0]) if cut else tracked[0]
        log.info("the tracked pose is not the subject at %.2f s: following everyone in view", t_s)
        self._multi = self._landmarker("video", self.num_poses)
        self._multi_until_s = t_s + self.check_every_s
        self._multi.detect_for_video(image, t_ms)
        return chosen

    def _restart_single(self, image: Any, t_ms: int, size: tuple[int, int], subject: PoseFrame) -> PoseFrame:
        """The subject's pose from a new one-pose landmarker started on this frame (MediaPipe's smoothing must not
        blend two scenes); the old tracking is kept when the new one finds someone else (or nobody)."""
        fresh = self._landmarker("video", 1)
        found = _poses(fresh.detect_for_video(image, t_ms), *size)
        if not found or not same_person(found[0], subject):
            fresh.close()
            return subject
        if self._single is not None:
            self._single.close()
        self._single = fresh
        return found[0]

    def _follow_everyone(self, image: Any, t_ms: int, t_s: float, size: tuple[int, int]) -> PoseFrame | None:
        self.multi_frames += 1
        everyone = _poses(self._multi.detect_for_video(image, t_ms), *size)
        if len(everyone) > 1 and self.track_one:
            self._multi_until_s = t_s + self.check_every_s
        chosen = self.tracker.step(everyone, t_s)
        if t_s >= self._multi_until_s:  # alone for a while: back to tracking one pose
            self._multi.close()
            self._multi = None
            if self._single is not None:
                self._single.close()
            self._single = self._landmarker("video", 1)
            self._next_check_s = -np.inf
        return chosen

    def close(self) -> None:
        """Close the landmarkers and hand the memory they freed back to the system (the cleaning of a long
        recording that follows then does not stack on top of it)."""
        with ctrl_c_held():
            self._close()
        release_freed_memory()

    def _close(self) -> None:
        if self._checker is not None:
            self._checker.shutdown(wait=True)  # a check under way finishes before its graph is closed
            self._checker = None
        for landmarker in (self._single, self._everyone, self._multi):
            if landmarker is not None:
                landmarker.close()
        self._single = self._everyone = self._multi = None

    def __enter__(self) -> MediaPipePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back while the block runs, and act on it when the block is done.

    MediaPipe's Python API runs each call into its C library on a thread of its own and waits for it. A
    ``KeyboardInterrupt`` raised in that wait left the call running on an image that Python then freed, and the
    process crashed (a segmentation fault instead of exit status 130 and the saved results). Inside the block a
    SIGINT is only noted; afterwards the handler that was in place (Python's, which raises ``KeyboardInterrupt``)
    runs once for it, also when the block raised. Outside the main thread (signals go to the main thread only),
    or when SIGINT is ignored or left to the system's default, the block runs as it is."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    caught: list[FrameType | None] = []
    signal.signal(signal.SIGINT, lambda _signum, frame: caught.append(frame))
    try:
        yield
    finally:  # Ctrl-C wins over an error the block raised: the user asked to stop
        signal.signal(signal.SIGINT, previous)
        if caught:
            previous(signal.SIGINT, caught[0])


def release_freed_memory() -> None:
    """Return freed heap memory to the operating system (glibc's ``malloc_trim``; nothing elsewhere). Small
    allocations freed by a closed model otherwise stay counted in the process's resident memory."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _poses(result: Any, width_px: int, height_px: int) -> list[PoseFrame]:
    return [
        _to_pose_frame(img, world, width_px, height_px)
        for img, world in zip(result.pose_landmarks, result.pose_world_landmarks, strict=True)
    ]
