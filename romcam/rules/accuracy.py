"""What a grade means: measured error per angle kind and view, and the person's size in the image (numpy only).

A confidence grade is the weakest of its components (``rules.confidence``). Two of them come from measurements
against rendered truth (``bench/accuracy.py``), so that a grade states an error, not a hope:

- ``accuracy``: the 95th percentile of |error| of the unflagged frames of this angle kind seen from this view,
  mapped so that p95 <= 5 deg scores 0.8 (grade A), <= 10 deg 0.6 (B), <= 20 deg 0.4 (C). Angle kinds not yet
  checked against truth score ``UNVALIDATED_SCORE`` (C at best).
- ``size``: the trunk's length in pixels (mid-shoulder to mid-hip). Downscaling the rendered clips to a quarter
  (trunk about 32 px) doubled the front elbow's error and raised the shoulder's by half; MediaPipe sees the person
  through a 256 x 256 crop, so below about 40 px the landmarks lose precision.
"""

from __future__ import annotations

import numpy as np

P95_ERROR_DEG: dict[str, dict[tuple[str, str], float]] = {
    "full": {  # the larger of the development and held-out sets' p95 (the held-out set had no front elbow)
        ("elbow_flexion", "front"): 9.2,
        ("elbow_flexion", "side"): 12.3,
        ("hip_flexion", "side"): 14.4,
        ("knee_flexion", "side"): 9.2,
        ("shoulder_abduction", "front"): 18.6,
        ("shoulder_flexion", "side"): 7.0,
    },
    "heavy": {
        ("elbow_flexion", "front"): 7.5,
        ("elbow_flexion", "side"): 9.7,
        ("hip_flexion", "side"): 14.8,
        ("knee_flexion", "side"): 7.3,
        ("shoulder_abduction", "front"): 11.5,
        ("shoulder_flexion", "side"): 8.6,
    },
}
"""Per model variant, p95 of |error| (deg) of unflagged frames per (angle kind, view), measured by
``bench/accuracy.py`` (``--model`` for heavy) on the rendered development set (5 bodies, straight and 20–30°
oblique cameras, three lighting looks, tracking one pose) and on the held-out set (``--heldout``: 3 more bodies):
the larger of the two, so that a grade holds beyond the bodies it was made on (the side elbow: 7.7 on the
development set, 12.3 held out, 12.1 on the confirmation set, ``--confirm``). The oblique cameras raise it: the
grade cannot see a camera's yaw. Rerun the bench when the method changes. The lite variant is not measured: its
grades are C at best."""

END_RANGE_LOW_DEG: dict[str, dict[str, tuple[float, float]]] = {
    "full": {
        "shoulder_flexion": (5.0, 16.0),
        "shoulder_abduction": (5.0, 16.0),
        "elbow_flexion": (6.0, 10.0),
        "hip_flexion": (5.0, 12.0),
        "knee_flexion": (3.0, 9.0),
    },
    "heavy": {
        "shoulder_abduction": (2.0, 8.0),
        "hip_flexion": (4.0, 9.0),
        "knee_flexion": (2.0, 7.0),
    },
}
"""Per model variant, how much lower than the truth romcam reads near end range (the top 15° of a movement), per
angle kind: the range of the mean errors measured by ``bench/accuracy.py`` on the rendered development, held-out
and confirmation sets (MediaPipe's landmarks, not the cleaning: raw values read as low; the heavy knee's 7 is the
confirmation set's squat). A grade does not include it: it
is a bias, not a spread. Kinds without an entry were not measured low consistently (the heavy model's elbow reads
high on some clips, low on others)."""

UNVALIDATED_SCORE = 0.5
"""The accuracy score of an angle kind and view without a measurement against truth: C at best."""

GRADE_P95_DEG = ((5.0, "A"), (10.0, "B"), (20.0, "C"))
"""The error each grade stands for: |error| within this many degrees on 95 % of frames."""

SIZE_SCORE_PX = ((12.0, 0.0), (20.0, 0.4), (30.0, 0.6), (40.0, 0.8), (60.0, 1.0))
"""(trunk length px, score) anchors of the size component, linear between them."""


def grade_meaning(grade: str) -> str:
    """What a confidence grade stands for, in measured error."""
    bound = next((p95 for p95, g in GRADE_P95_DEG if g == grade), None)
    if bound is None:
        return f"grade {grade}: error may exceed {GRADE_P95_DEG[-1][0]:.0f}°, not a value to record"
    return f"grade {grade}: within {bound:.0f}° on 95 % of frames in tests against known angles"


def accuracy_score(kind: str, view: str, variant: str) -> float:
    """The accuracy component for an angle kind seen from ``view`` ("front" or "side") through the model
    ``variant``; see the module."""
    p95 = P95_ERROR_DEG.get(variant, {}).get((kind, view))
    if p95 is None:
        return UNVALIDATED_SCORE
    return float(np.interp(p95, [0.0, 5.0, 10.0, 20.0, 40.0], [1.0, 0.8, 0.6, 0.4, 0.0]))


def size_score(trunk_px: float) -> float:
    """The size component: 0 for a trunk of 12 px or less, 0.8 (grade A) from 40 px, 1 from 60 px."""
    if not np.isfinite(trunk_px):
        return float("nan")
    px, score = zip(*SIZE_SCORE_PX, strict=True)
    return float(np.interp(trunk_px, px, score))


def end_range_low_deg(kind: str, variant: str) -> tuple[float, float] | None:
    """(least, most) degrees the model ``variant`` reads an angle kind low near end range, if measured so."""
    return END_RANGE_LOW_DEG.get(variant, {}).get(kind)
