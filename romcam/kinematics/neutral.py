"""A neutral capture ("stand still, arms at your sides"): camera roll and anatomical zero offsets (numpy only)."""

from __future__ import annotations

import numpy as np

from romcam.kinematics.angles import trunk_down_vector
from romcam.kinematics.geometry import signed_angle_deg


def camera_roll_deg(xy_px: np.ndarray) -> float:
    """Median tilt of the trunk axis (mid-hip -> mid-shoulder) from the image vertical, in degrees.

    With the person standing upright this is the camera's roll. Positive = the trunk appears turned
    clockwise on screen (the camera is rolled counter-clockwise). NaN without a trunk.
    """
    up = -trunk_down_vector(xy_px)
    vertical = np.broadcast_to(np.array([0.0, -1.0]), up.shape)
    tilt = signed_angle_deg(vertical, up, np.ones(len(up)), lower_deg=-180.0)
    return float(np.nanmedian(tilt)) if np.isfinite(tilt).any() else float("nan")


def rotate_xy_px(xy_px: np.ndarray, angle_deg: float, center_px: tuple[float, float]) -> np.ndarray:
    """Rotate points clockwise on screen by ``angle_deg`` about ``center_px`` (NaN stays NaN)."""
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    rel = np.asarray(xy_px, dtype=float) - np.asarray(center_px)
    out = np.stack([c * rel[..., 0] - s * rel[..., 1], s * rel[..., 0] + c * rel[..., 1]], axis=-1)
    return out + np.asarray(center_px)


def level_xy_px(xy_px: np.ndarray, roll_deg: float, width_px: int, height_px: int) -> np.ndarray:
    """Undo a camera roll: rotate by ``-roll_deg`` about the image centre, so the vertical is vertical again."""
    return rotate_xy_px(xy_px, -roll_deg, (width_px / 2.0, height_px / 2.0))


def moved_angles_deg(angles_deg: dict[str, np.ndarray], limit_deg: float) -> dict[str, float]:
    """The angles that moved during a capture meant to be still: name -> the 5th-95th percentile range of its
    values (deg) where that range exceeds ``limit_deg``, largest first. Angles measured on fewer than half the
    frames are left out (too little to judge; they get no zero offset worth the name either)."""
    moved = {}
    for name, values in angles_deg.items():
        finite = values[np.isfinite(values)]
        if finite.size < max(2, 0.5 * values.size):
            continue
        low, high = np.percentile(finite, [5, 95])
        if high - low > limit_deg:
            moved[name] = float(high - low)
    return dict(sorted(moved.items(), key=lambda item: -item[1]))


def zero_offsets_deg(angles_deg: dict[str, np.ndarray]) -> dict[str, float]:
    """Median of each angle over the neutral capture: the person's own reading of anatomical zero."""
    return {k: float(np.nanmedian(v)) for k, v in angles_deg.items() if np.isfinite(v).any()}
