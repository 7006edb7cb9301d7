"""The per-frame cleaning shared by the live use cases (measure, exercise): one pose in, landmarks and metrics out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from romcam.app.calibrate import load_neutral
from romcam.capture.camera_profile import load_profile, undistort_xy_px
from romcam.kinematics.filters import FilterSettings, OneEuroFilter, mask_low_visibility
from romcam.landmarks import N_LANDMARKS
from romcam.rules.metrics import frame_metrics
from romcam.types import PoseFrame


class LiveCleaner:
    """Mask low visibility -> undistort (camera profile) -> level (neutral capture) -> causal One Euro filter
    -> metrics, one frame at a time, so a webcam and a recorded clip give the same numbers."""

    def __init__(
        self, settings: FilterSettings, camera_profile: Path | None = None, neutral: Path | None = None
    ) -> None:
        self.settings = settings
        self.smoother = OneEuroFilter(
            settings.one_euro_min_cutoff_hz, settings.one_euro_beta, settings.one_euro_d_cutoff_hz
        )
        self.profile = load_profile(camera_profile)
        self.neutral = load_neutral(neutral)

    def step(
        self, pose: PoseFrame | None, t_s: float, frame_size_px: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, dict[str, float]]:
        """The cleaned (33, 2) landmarks of this frame (NaN without a person) and their metrics.

        ``frame_size_px`` (width, height) is checked against the neutral capture's; without it the
        capture's own size is assumed.
        """
        xy = np.full((N_LANDMARKS, 2), np.nan)
        if pose is not None:
            xy = mask_low_visibility(pose.xy_px[None], pose.visibility[None], self.settings.min_visibility)[0]
        if self.profile is not None:
            xy = undistort_xy_px(xy, self.profile)
        if self.neutral is not None:
            w, h = frame_size_px or (self.neutral.width_px, self.neutral.height_px)
            xy = self.neutral.level(xy, w, h)
        xy = self.smoother.step(xy, t_s)
        return xy, frame_metrics(xy)
