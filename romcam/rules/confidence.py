"""A confidence for every reported value: a score in [0, 1] (its weakest component) and a grade."""

from __future__ import annotations

import math

from romcam.results import Confidence
from romcam.thresholds import FORESHORTENING_SCORE_RANGE, FULL_VISIBILITY, MIN_VISIBILITY

GRADES: tuple[tuple[float, str], ...] = ((0.8, "A"), (0.6, "B"), (0.4, "C"), (0.0, "D"))
"""A: trust it; B: usable; C: read with care; D: do not use. The score is the weakest component."""


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def visibility_score(mean_visibility: float) -> float:
    """0 at MediaPipe visibility 0.5 (the masking threshold), 1 from 0.9."""
    return _clip01((mean_visibility - MIN_VISIBILITY) / (FULL_VISIBILITY - MIN_VISIBILITY))


def view_score(share_in_view: float) -> float:
    """The share of frames seen from the view the angle's plane needs (1 for an angle valid in any view)."""
    return _clip01(share_in_view)


def jitter_score(sd_deg: float, tolerance_deg: float) -> float:
    """1 for a still hold, 0 when its SD reaches twice the hold tolerance."""
    return _clip01(1.0 - sd_deg / (2.0 * tolerance_deg))


def foreshortening_score(length_ratio: float) -> float:
    """The moving segment's image length over its length in the neutral capture: 1 from 0.95, 0 at 0.7
    (a limb leaving the image plane looks shorter, and its angle is then wrong)."""
    low, high = FORESHORTENING_SCORE_RANGE
    return _clip01((length_ratio - low) / (high - low))


def confidence(components: dict[str, float]) -> Confidence:
    """Score (the weakest finite component), grade and the finite components; no component gives grade D."""
    finite = {k: round(v, 3) for k, v in components.items() if v is not None and math.isfinite(v)}
    score = min(finite.values()) if finite else 0.0
    grade = next(g for threshold, g in GRADES if score >= threshold)
    return Confidence(round(score, 3), grade, finite)
