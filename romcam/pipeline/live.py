"""The causal cleaning of live sessions (measure, exercise, and the browser app): one pose in, landmarks and
metrics out, with the same masking as the offline path."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from romcam.kinematics.filters import FilterSettings, OneEuroFilter, mask_low_visibility
from romcam.landmarks import N_LANDMARKS
from romcam.rules.metrics import frame_metrics
from romcam.types import PoseFrame


class LiveCleaner:
    """Mask low visibility -> undistort (camera profile) -> level (neutral capture) -> causal One Euro filter
    -> metrics, one frame at a time, so a webcam and a recorded clip give the same numbers."""

    def __init__(
        self,
        settings: FilterSettings,
        undistort: Callable[[np.ndarray], np.ndarray] | None = None,
        level: Callable[[np.ndarray, int, int], np.ndarray] | None = None,
    ) -> None:
        """``undistort`` maps (33, 2) pixels through a camera profile; ``level`` undoes the camera roll of a
        neutral capture for a frame of the given width and height (both optional)."""
        self.settings = settings
        self.smoother = OneEuroFilter(
            settings.one_euro_min_cutoff_hz, settings.one_euro_beta, settings.one_euro_d_cutoff_hz
        )
        self.undistort, self.level = undistort, level

    def step(
        self, pose: PoseFrame | None, t_s: float, frame_size_px: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, dict[str, float]]:
        """The cleaned (33, 2) landmarks of this frame (NaN without a person) and their metrics.

        ``frame_size_px`` (width, height) goes to ``level`` (which checks it against the neutral capture's).
        """
        xy = np.full((N_LANDMARKS, 2), np.nan)
        if pose is not None:
            xy = mask_low_visibility(pose.xy_px[None], pose.visibility[None], self.settings.min_visibility)[0]
        if self.undistort is not None:
            xy = self.undistort(xy)
        if self.level is not None:
            if frame_size_px is None:
                raise ValueError("levelling a live frame needs its frame_size_px")
            xy = self.level(xy, *frame_size_px)
        xy = self.smoother.step(xy, t_s)
        return xy, frame_metrics(xy)
