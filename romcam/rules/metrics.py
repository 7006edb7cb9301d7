"""Per-frame metrics the rules read: every registry angle plus a few derived quantities (numpy only)."""

from __future__ import annotations

import math

import numpy as np

from romcam.kinematics.angles import compute_angles_deg
from romcam.rules.view import shoulder_hiking_ratio

TRUNK_LENGTH_METRICS = frozenset({"left_ear_shoulder_distance", "right_ear_shoulder_distance"})
"""Metrics measured in trunk lengths (mid-shoulder to mid-hip); every other metric is in degrees."""


def metric_text(metric: str, value: float) -> str:
    """A metric's value with its unit: "12°", or "0.09 trunk lengths" for a distance."""
    return f"{value:.2f} trunk lengths" if metric in TRUNK_LENGTH_METRICS else f"{value:.0f}°"


def frame_metrics(xy_px: np.ndarray) -> dict[str, float]:
    """All registry angles of one (33, 2) frame, plus ``{side}_ear_shoulder_distance`` (trunk lengths)
    and ``knee_asymmetry`` (|left - right knee flexion|, degrees)."""
    xy = xy_px[None]
    out = {k: float(v[0]) for k, v in compute_angles_deg(xy).items()}
    for side in ("left", "right"):
        out[f"{side}_ear_shoulder_distance"] = float(shoulder_hiking_ratio(xy, side)[0])
    diff = out["left_knee_flexion"] - out["right_knee_flexion"]
    out["knee_asymmetry"] = abs(diff) if math.isfinite(diff) else math.nan
    return out
