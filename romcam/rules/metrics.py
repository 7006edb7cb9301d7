"""Per-frame metrics the rules read: every registry angle plus a few derived quantities (numpy only)."""

from __future__ import annotations

import math

import numpy as np

from romcam.kinematics.angles import compute_angles_deg
from romcam.rules.view import shoulder_hiking_ratio


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
