"""Per-angle statistics over a clip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AngleSummary:
    """Range of one angle over a clip; ``None`` where the angle was never measured."""

    name: str
    min_deg: float | None
    max_deg: float | None
    range_deg: float | None
    peak_time_s: float | None
    valid_fraction: float


def summarize_angle(name: str, values_deg: np.ndarray, t_s: np.ndarray) -> AngleSummary:
    """min, max, range (max - min), time of the maximum, and the fraction of finite samples."""
    v = np.asarray(values_deg, dtype=float)
    valid = np.isfinite(v)
    fraction = float(valid.mean()) if len(v) else 0.0
    if not valid.any():
        return AngleSummary(name, None, None, None, None, fraction)
    lo, hi = float(np.fmin.reduce(v)), float(np.fmax.reduce(v))  # fmin and fmax skip NaN
    peak = float(t_s[int(np.argmax(v == hi))])  # the first maximum
    return AngleSummary(name, lo, hi, hi - lo, peak, fraction)
