"""Thresholds that decide whether a value is trusted, in one place, with where each comes from.

Each is written into the outputs that depend on it (``summary.json`` and ``measurement.json`` carry
``thresholds``), so a number can always be traced to the rule that passed it. The clinical thresholds of
protocols and exercises (normal values, real change, form faults) are data in their TOML files instead
(sources in ``docs/clinical.md``).
"""

from __future__ import annotations

MIN_VISIBILITY = 0.5
"""Landmarks with a MediaPipe visibility below this are masked (treated as missing) before any angle; the
usual cut-off for BlazePose (CLINICAL signal processing: "mask landmarks under visibility 0.5")."""

FULL_VISIBILITY = 0.9
"""Mean visibility from which the visibility component of a confidence is 1 (0 at ``MIN_VISIBILITY``)."""

MAX_GAP_S = 0.3
"""Gaps up to this long are interpolated; longer ones stay missing (about 10 frames at 30 fps: Winter)."""

MIN_VIEW_SHARE = 0.6
"""An angle is flagged "camera not side-on/front-on" when fewer than this share of its measured frames (of a
clip, or of a trial in ``measure``) are seen from the view its plane needs: the view must hold for a clear
majority of the frames the number comes from (2D angles are valid only with the plane facing the camera; Cosoli
2026: knee bias −2.3° side-on against −13.9° over 45–90° views)."""

FORESHORTENED_RATIO = 0.8
"""A segment whose image length is under this share of its reference length (neutral capture, else the clip's
90th percentile) is turned toward or away from the camera: a segment tilted 37° out of the image plane keeps
cos 37° = 0.8 of its length, and the projected angle is then no longer the anatomical one."""

FORESHORTENING_SCORE_RANGE = (0.7, 0.95)
"""The foreshortening component of a confidence rises from 0 at a length ratio of 0.7 (46° out of plane) to 1
at 0.95 (18°)."""

LIMB_GLITCH_TOLERANCE = 0.2
"""A limb segment more than this share off its clip's 90th-percentile length, for at most
``LIMB_GLITCH_MAX_RUN_S``, is a misplaced landmark (blanked and interpolated), not a movement."""

LIMB_GLITCH_MAX_RUN_S = 0.3
"""Longest run of a misplaced landmark that is blanked; a longer one is real foreshortening and is flagged."""

JUMP_DEG = 10.0
"""A value more than this far from its running median (± ``JUMP_HALF_WINDOW_S``), and more than
``JUMP_MAD_FACTOR`` scaled median absolute deviations of that window, is a momentary landmark error (flag
``jump``): a Hampel identifier (Hampel 1974; Pearson et al. 2016) with a floor. The same limit applies to how
far the filter moved a value from the unfiltered one (a filter spreading an error, or ringing at a cut)."""

JUMP_MAD_FACTOR = 3.0
"""The Hampel identifier's usual 3 scaled MADs (1.4826 MAD estimates the standard deviation): smooth fast
movement spreads its window widely, so only a departure from a still or slowly moving limb counts."""

JUMP_HALF_WINDOW_S = 0.1
"""Half width of the running median that ``JUMP_DEG`` is judged against: three frames either side at 30 fps, so
errors of up to three frames stand out, while the peak of a full-range movement of 0.8 s per cycle stays within
the limit."""

SEGMENT_TO_TRUNK_RATIO = {
    "upper_arm": 0.65,
    "forearm": 0.51,
    "thigh": 0.85,
    "shank": 0.85,
}
"""Each limb segment's length as a share of the trunk (shoulder to hip joint): Drillis and Contini's segment
lengths as fractions of stature (Winter, Biomechanics and Motor Control of Human Movement, 4th ed., Fig. 4.1:
upper arm 0.186, forearm 0.146, thigh 0.245, shank 0.246, trunk 0.288). A segment under
``FORESHORTENED_RATIO`` × ``PROPORTION_ALLOWANCE`` of this share of the clip's trunk length is foreshortened
even when it never lies in the image plane in the clip (a still, a seated leg, arms toward a camera above)."""

PROPORTION_ALLOWANCE = 0.7
"""The proportion reference is this share of the table's ratio: people differ from the population mean by up to
about 15 %, and MediaPipe's shoulder and hip points make the trunk read longer than the anthropometric one (its
in-plane limbs measured 0.44–0.59 of the trunk for the upper arm, 0.37–0.54 forearm, 0.65–0.88 thigh and shank on
five clips of the development set). With ``FORESHORTENED_RATIO`` this flags only gross foreshortening, a limb
pointing at or away from the camera by more than about 45–55°; the clip's own reference catches the rest."""

OUTLIER_FLOOR_TRUNK = 0.1
"""A landmark coordinate is a momentary outlier (blanked, then interpolated, before the Butterworth filter) only if
it also lies more than this many trunk lengths from its running median: a few pixels of jitter on a still limb
are not outliers."""

SCENE_CUT_TRUNK_LENGTHS = 0.5
"""Between two consecutive frames, a median landmark displacement larger than this many trunk lengths is a
cut (an edit, or the subject switching): the series is cleaned and filtered in separate segments."""

FRONTAL_MAX_BEND_DEG = {"knee_valgus": 60.0, "hip_abduction": 45.0}
"""A frontal-plane angle is defined only while its limb lies near the frontal plane: knee valgus (the frontal
plane projection angle, measured clinically at 45–60° of knee flexion in single-leg squats: Munro 2012,
Herrington 2014) up to 60° of knee flexion, hip abduction up to 45° of hip flexion. The bend is the 3D angle of
MediaPipe's world landmarks (its depth is rough, but tells a seated or lunging leg from a standing one)."""

FRONTAL_MAX_YAW_DEG = 25.0
"""Knee valgus and hip abduction need the camera square to the body's frontal plane: frames where the body is
turned more than this (``body_yaw_deg`` of the world landmarks) are flagged ``view``, since the knee's flexion
then shows as a frontal angle (a lunge seen 40° off the front reads 28–40° of "valgus" without any)."""

MIN_VALID_FRACTION = 0.5
"""Batch flags an angle ``low_valid_fraction`` when it was measured on fewer than this share of frames."""

MIN_PERSON_FRACTION = 0.9
"""Batch flags a clip ``person_not_always_in_view`` when a person was found on fewer than this share of frames."""

CALIBRATION_MAX_RMS_PX = 1.0
"""``calibrate camera`` keeps a lens model only when the board corners reproject within this RMS error: sharp
views of a flat board give a few tenths of a pixel (OpenCV's camera calibration tutorial); more than a pixel
means blurred, bent or misdetected views, and their lens model adds error instead of removing it."""

CALIBRATION_MAX_DISTORTION = 0.3
"""A lens model is implausible when, inside the image, it moves a point by more than this share of the point's
distance from the image centre, or stops mapping larger radii to larger radii (its polynomial folds back: what
an overfitted k2 or k3 does at the corners)."""

NEUTRAL_MAX_SPREAD_DEG = 10.0
"""``calibrate neutral`` needs the person still: no angle may range more than this (5th to 95th percentile of the
filtered angle over the capture, its flagged frames left out). Held still, an angle's landmark noise spans a few
degrees (at most 3.2° over the still first half second of the four rendered samples); an arm or leg that moves
during the capture would shift that joint's zero offset."""


def as_record() -> dict[str, float | tuple[float, float] | dict[str, float]]:
    """The thresholds as written into outputs (lower-case names)."""
    return {name.lower(): value for name, value in globals().items() if name.isupper()}
