"""The only module that imports MediaPipe: a PoseLandmarker adapter returning ``PoseFrame`` objects."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from romcam.errors import RomcamError
from romcam.pose.select import SubjectTracker
from romcam.types import PoseFrame

log = logging.getLogger(__name__)


def _to_pose_frame(image_landmarks: list, world_landmarks: list, width_px: int, height_px: int) -> PoseFrame:
    norm = np.array([[lm.x, lm.y] for lm in image_landmarks], dtype=float)
    xy = norm * np.array([width_px, height_px], dtype=float)
    world = np.array([[lm.x, lm.y, lm.z] for lm in world_landmarks], dtype=float)
    vis = np.array([lm.visibility if lm.visibility is not None else np.nan for lm in image_landmarks])
    return PoseFrame(xy, world, vis)


class MediaPipePose:
    """MediaPipe Tasks ``PoseLandmarker`` in VIDEO mode (tracking across frames).

    Detects up to ``num_poses`` people per frame and keeps one subject with ``SubjectTracker``, so a
    bystander never replaces the measured person. Use as a context manager to free the graph.
    """

    def __init__(
        self,
        model: Path | bytes,
        num_poses: int = 2,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        from mediapipe import Image, ImageFormat
        from mediapipe.tasks.python import BaseOptions, vision

        self._image_cls, self._format = Image, ImageFormat.SRGB
        options = vision.PoseLandmarkerOptions(
            base_options=(
                BaseOptions(model_asset_buffer=model)
                if isinstance(model, bytes)
                else BaseOptions(model_asset_path=str(model))
            ),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            what = "the model" if isinstance(model, bytes) else f"the model {model}"
            raise RomcamError(f"MediaPipe could not load {what}: {exc}") from exc
        self.tracker = SubjectTracker()
        self._last_ms = -1

    def estimate_all(self, frame_bgr: np.ndarray, t_s: float) -> list[PoseFrame]:
        """Every person found in a BGR frame (H, W, 3) as OpenCV decodes it, taken at ``t_s`` seconds
        (the colour conversion MediaPipe needs happens here, at the edge)."""
        t_ms = max(int(round(t_s * 1000.0)), self._last_ms + 1)
        self._last_ms = t_ms
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        image = self._image_cls(image_format=self._format, data=np.ascontiguousarray(rgb))
        result = self._landmarker.detect_for_video(image, t_ms)
        h, w = frame_bgr.shape[:2]
        return [
            _to_pose_frame(img, world, w, h)
            for img, world in zip(result.pose_landmarks, result.pose_world_landmarks, strict=True)
        ]

    def estimate(self, frame_bgr: np.ndarray, t_s: float) -> PoseFrame | None:
        """The measured subject's pose in this BGR frame, or None if nobody (or only a bystander) is in view."""
        return self.tracker.step(self.estimate_all(frame_bgr, t_s), t_s)

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> MediaPipePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
