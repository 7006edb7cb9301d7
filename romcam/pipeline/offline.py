"""Zero-lag cleaning of a whole recorded sequence, with the per-frame evidence every angle value carries.

Order: level the camera roll (a neutral capture) → repair left/right label swaps and blank misplaced limb
points (where the view is not mostly front-on) → mask low visibility and momentary outliers (a Hampel identifier
per coordinate) → fill short gaps → filter (Butterworth
by default) → angles → per-frame flags (view, far side, foreshortened, repaired, interpolated, jump,
out of range).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from romcam.kinematics.angles import compute_angles_deg
from romcam.kinematics.filters import (
    FilterSettings,
    clean_masked,
    clean_trajectories,
    landmark_outliers,
    mask_low_visibility,
)
from romcam.kinematics.geometry import finite_2d
from romcam.kinematics.neutral import level_xy_px
from romcam.landmarks import SKELETON_LANDMARKS
from romcam.rules.frame_flags import all_angle_flags, filter_jumps, frame_evidence, trunk_length_px
from romcam.rules.view import classify_view
from romcam.thresholds import JUMP_HALF_WINDOW_S, OUTLIER_FLOOR_TRUNK
from romcam.types import PoseSequence


def angles_from_sequence(
    sequence: PoseSequence,
    settings: FilterSettings,
    names: tuple[str, ...] | None = None,
    outliers: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Clean the trajectories of the skeleton's landmarks as ``settings`` says (blanking ``outliers`` first; the
    other landmarks are NaN), then compute the angles; returns (xy_px, angles)."""
    xy = clean_trajectories(sequence.xy_px, sequence.visibility, sequence.t_s, settings, outliers, SKELETON_LANDMARKS)
    return xy, compute_angles_deg(xy, names)


def robust_outliers(visible_px: np.ndarray, t_s: np.ndarray, settings: FilterSettings) -> np.ndarray:
    """(T, 33) momentary outliers among the visible landmarks ``visible_px`` (NaN where hidden), to blank before
    a Butterworth filter (none for other filters: a live filter cannot look ahead, and "none" means the values
    as measured): ``landmark_outliers`` within ``JUMP_HALF_WINDOW_S``, with a floor of ``OUTLIER_FLOOR_TRUNK``
    trunk lengths; the skeleton's landmarks only."""
    out = np.zeros(visible_px.shape[:2], dtype=bool)
    if settings.kind != "butterworth":
        return out
    trunk = trunk_length_px(visible_px)
    floor = OUTLIER_FLOOR_TRUNK * trunk if np.isfinite(trunk) else np.inf
    for k in range(0, len(SKELETON_LANDMARKS), 4):  # a few landmarks at a time: bounded memory
        columns = list(SKELETON_LANDMARKS[k : k + 4])
        out[:, columns] = landmark_outliers(visible_px[:, columns], t_s, JUMP_HALF_WINDOW_S, floor)
    return out


def mostly_front(views: np.ndarray, t_s: np.ndarray, half_window_s: float = 0.5) -> np.ndarray:
    """(T,) True where most frames with a view within ``half_window_s`` either side are seen front-on
    (a few frames of a front-view clip read "oblique" when the model drops an arm near the trunk)."""
    front = (views == "front").astype(float)
    known = (views != "").astype(float)
    lo = np.searchsorted(t_s, t_s - half_window_s, side="left")
    hi = np.searchsorted(t_s, t_s + half_window_s, side="right")
    c_front, c_known = np.concatenate([[0.0], np.cumsum(front)]), np.concatenate([[0.0], np.cumsum(known)])
    n_front, n_known = c_front[hi] - c_front[lo], c_known[hi] - c_known[lo]
    return np.asarray(n_front > 0.5 * np.maximum(n_known, 1.0))


def repair_sequence(sequence: PoseSequence) -> tuple[PoseSequence, np.ndarray, dict[str, Any]]:
    """The sequence with limb left/right label swaps repaired and momentarily misplaced limb points
    blanked (filled later by interpolation); the swapped mask and what was repaired."""
    from romcam.kinematics.sides import LIMB_GROUPS, remove_limb_glitches, repair_left_right

    not_front = ~mostly_front(classify_view(sequence.xy_px), sequence.t_s)
    xy, vis, swapped = repair_left_right(sequence.xy_px, sequence.visibility, allowed=not_front)
    xy, glitched = remove_limb_glitches(xy, sequence.t_s, allowed=not_front)
    xy.flags.writeable = vis.flags.writeable = False  # made here, owned by nobody else: frozen without a copy
    fixed = PoseSequence(xy, sequence.world_m, vis, sequence.t_s, sequence.width_px, sequence.height_px)
    info: dict[str, Any] = {}
    for g, group in enumerate(LIMB_GROUPS):
        info[f"{group}_frames_swapped"] = int(swapped[:, g].sum())
        info[f"{group}_frames_misplaced"] = int(glitched[:, g].sum())
    info["times_s"] = [round(float(t), 3) for t in sequence.t_s[swapped.any(axis=1)]][:200]
    info["misplaced_times_s"] = [round(float(t), 3) for t in sequence.t_s[glitched.any(axis=1)]][:200]
    return fixed, swapped, info


@dataclass
class Measured:
    """A sequence after correction and repair, its cleaned landmarks, angles, per-frame flags, each frame's
    camera view (classified once, on the cleaned landmarks) and what the repair did."""

    sequence: PoseSequence
    xy_px: np.ndarray
    angles: dict[str, np.ndarray]
    flags: dict[str, dict[str, np.ndarray]]
    info: dict[str, Any]
    views: np.ndarray


def clean_offline(
    sequence: PoseSequence,
    settings: FilterSettings,
    names: tuple[str, ...] | None = None,
    *,
    repair_left_right: bool = True,
    roll_deg: float | None = None,
    reference_lengths_px: dict[str, float] | None = None,
) -> Measured:
    """Level, repair, clean, measure and flag a recorded sequence (already undistorted, if at all).

    ``roll_deg`` is the camera roll to undo and ``reference_lengths_px`` the segment lengths that judge
    foreshortening (both from a neutral capture; without them the clip's own 90th percentile is the
    reference). ``info`` of the result says what the left/right repair did.
    """
    if roll_deg is not None:
        sequence = sequence.with_xy(level_xy_px(sequence.xy_px, roll_deg, sequence.width_px, sequence.height_px))
    repair_info: dict[str, Any] | None = None
    swapped = None
    if repair_left_right:
        sequence, swapped, repair_info = repair_sequence(sequence)
    visible = mask_low_visibility(sequence.xy_px, sequence.visibility, settings.min_visibility)
    unfiltered = compute_angles_deg(visible, names)
    outliers = robust_outliers(visible, sequence.t_s, settings)
    visible[outliers] = np.nan  # now what the filter may use (one array of an hour's landmarks, not two)
    blank = ~finite_2d(visible)
    xy = clean_masked(visible, sequence.t_s, settings, SKELETON_LANDMARKS)
    del visible
    angles = compute_angles_deg(xy, names)
    evidence = frame_evidence(xy, blank, swapped, reference_lengths_px, sequence.world_m)
    jumps = {n: filter_jumps(v, angles[n], sequence.t_s) for n, v in unfiltered.items()}
    evidence = replace(evidence, jumps=jumps)
    flags = all_angle_flags(angles, xy, evidence)
    return Measured(sequence, xy, angles, flags, {"left_right_repair": repair_info}, evidence.views)
