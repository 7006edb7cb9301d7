"""Per-frame flags on synthetic landmark sequences, and their columns in angles.csv."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from fk import front_view, side_view

from romcam.kinematics.angles import REGISTRY, compute_angles_deg
from romcam.kinematics.sides import LIMB_GROUPS
from romcam.landmarks import N_LANDMARKS
from romcam.landmarks import Landmark as L
from romcam.output.tables import read_angles_csv, read_angles_csv_with_flags, write_angles_csv
from romcam.output.words import code_words, live_doubt_words
from romcam.results import FlagCode
from romcam.rules.frame_flags import (
    FrameEvidence,
    angle_frame_flags,
    angle_jumps,
    filter_jumps,
    flag_text,
    frame_evidence,
    live_doubt,
    near_side,
    window_flag_codes,
)


def _evidence(xy: np.ndarray, **changes: object) -> FrameEvidence:
    base = frame_evidence(xy, np.zeros((xy.shape[0], N_LANDMARKS), dtype=bool))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_near_side_follows_the_facing() -> None:
    # facing screen right, a non-mirrored camera sees the person's right side; facing left, the left side
    xy = np.stack([side_view(1), side_view(-1), front_view()])
    assert list(near_side(xy)) == ["right", "left", ""]


def test_flags_of_a_side_view_sequence() -> None:
    frames = [side_view(1, knee_flexion=(30.0, 40.0), hip_flexion=(10.0, 20.0)) for _ in range(10)]
    frames += [front_view() for _ in range(2)]
    xy = np.stack(frames)
    xy[3, int(L.RIGHT_KNEE)] = (xy[3, int(L.RIGHT_HIP)] + xy[3, int(L.RIGHT_KNEE)]) / 2  # thigh at half length
    swapped = np.zeros((12, len(LIMB_GROUPS)), dtype=bool)
    swapped[5, list(LIMB_GROUPS).index("leg")] = True
    blank = np.zeros((12, N_LANDMARKS), dtype=bool)
    blank[6, int(L.RIGHT_ANKLE)] = True
    ev = _evidence(xy, swapped=swapped, blank=blank)

    right_knee = angle_frame_flags(REGISTRY["right_knee_flexion"], xy, ev)
    assert set(right_knee) == set(FlagCode)
    assert np.flatnonzero(right_knee["view"]).tolist() == [10, 11]  # the front-view frames
    assert not right_knee["far_side"].any()  # the right side faces the camera
    assert np.flatnonzero(right_knee["foreshortened"]).tolist() == [3]
    assert np.flatnonzero(right_knee["repaired"]).tolist() == [5]
    assert np.flatnonzero(right_knee["interpolated"]).tolist() == [6]

    left_knee = angle_frame_flags(REGISTRY["left_knee_flexion"], xy, ev)
    assert np.flatnonzero(left_knee["far_side"]).tolist() == list(range(10))
    assert not left_knee["foreshortened"].any() and not left_knee["interpolated"].any()

    right_elbow = angle_frame_flags(REGISTRY["right_elbow_flexion"], xy, ev)  # plane "any": no view flag
    assert not any(right_elbow[c].any() for c in ("view", "foreshortened", "repaired", "interpolated"))

    abduction = angle_frame_flags(REGISTRY["right_shoulder_abduction"], xy, ev)  # frontal plane
    assert np.flatnonzero(abduction["view"]).tolist() == list(range(10))

    assert window_flag_codes(left_knee, np.arange(12) < 10) == [FlagCode.FAR_SIDE]
    assert code_words("sagittal", window_flag_codes(left_knee, np.arange(12) < 10)) == [
        "unreliable: limb on the far side of a side view"
    ]
    assert window_flag_codes(right_knee, np.arange(12) < 10) == []  # one foreshortened frame of ten
    text = flag_text(right_knee, np.isfinite(compute_angles_deg(xy)["right_knee_flexion"]))
    assert text[0] == "" and text[3] == "foreshortened" and text[11] == "view"


def test_neutral_reference_length_sets_foreshortening() -> None:
    xy = np.stack([side_view(1) for _ in range(3)])
    shin_px = float(np.linalg.norm(xy[0, int(L.RIGHT_ANKLE)] - xy[0, int(L.RIGHT_KNEE)]))
    blank = np.zeros((3, N_LANDMARKS), dtype=bool)
    ev = frame_evidence(xy, blank, neutral_lengths_px={"right_knee_flexion": shin_px / 0.7})  # stood closer
    assert angle_frame_flags(REGISTRY["right_knee_flexion"], xy, ev)["foreshortened"].all()


def test_flag_columns_follow_the_angles_in_the_csv(tmp_path: Path) -> None:
    t = np.arange(4) / 30.0
    angles = {"left_knee_flexion": np.array([1.0, 2.0, np.nan, 4.0]), "trunk_flexion": np.array([0.5, 0.5, 0.5, 0.5])}
    flags = {"left_knee_flexion_flags": ["", "view;far_side", "", "repaired"], "trunk_flexion_flags": [""] * 4}
    path = tmp_path / "angles.csv"
    write_angles_csv(path, t, angles, flags)
    header = path.read_text().splitlines()[0].split(",")
    assert header == ["time_s", "left_knee_flexion", "trunk_flexion", "left_knee_flexion_flags", "trunk_flexion_flags"]
    t2, got = read_angles_csv(path)
    np.testing.assert_allclose(t2, t, atol=1e-6)
    np.testing.assert_allclose(got["left_knee_flexion"], angles["left_knee_flexion"])
    _, _, got_flags = read_angles_csv_with_flags(path)
    assert got_flags["left_knee_flexion"] == ["", "view;far_side", "", "repaired"]


def test_live_doubt_names_the_problem_of_one_frame() -> None:
    side_right = side_view(1)  # right side toward the camera
    assert live_doubt("right_knee_flexion", side_right) is None
    assert live_doubt("left_knee_flexion", side_right) == FlagCode.FAR_SIDE
    assert live_doubt_words("left_knee_flexion", FlagCode.FAR_SIDE) == "left side away from the camera"
    assert live_doubt("left_shoulder_abduction", side_right) == FlagCode.VIEW
    assert live_doubt_words("left_shoulder_abduction", FlagCode.VIEW) == "camera not front-on"
    front = front_view(shoulder_abduction=(90.0, 90.0))
    assert live_doubt("left_shoulder_abduction", front) is None
    assert live_doubt("left_knee_flexion", front) == FlagCode.VIEW
    assert live_doubt_words("left_knee_flexion", FlagCode.VIEW) == "camera not side-on"
    assert live_doubt("left_elbow_flexion", front) is None  # either plane will do


def test_jumps_mark_a_momentary_error_and_leave_fast_smooth_movement_alone() -> None:
    t = np.arange(90) / 30.0
    fast = 120 * 0.5 * (1 - np.cos(2 * np.pi * t / 0.8))  # 0 -> 120 -> 0 in 0.8 s, three times
    assert not angle_jumps(fast, t).any()
    slow = 120 * 0.5 * (1 - np.cos(2 * np.pi * t / 3.0))  # near its peak at frame 45
    glitchy = slow.copy()
    glitchy[45] += 30.0  # one frame 30 degrees off
    jumps = angle_jumps(glitchy, t)
    assert np.flatnonzero(jumps).tolist() == list(range(42, 49))  # widened by 0.1 s either side


def test_filter_jumps_catch_an_error_in_fast_movement_and_one_the_filter_makes() -> None:
    from romcam.kinematics.filters import butterworth_zero_lag

    t = np.arange(90) / 30.0
    fast = 120 * 0.5 * (1 - np.cos(2 * np.pi * t / 1.5))
    glitchy = fast.copy()
    glitchy[36] += 40.0  # mid-movement: the window's own spread hides it from the Hampel test
    assert not angle_jumps(glitchy, t)[36]
    filtered = butterworth_zero_lag(glitchy, t, 6.0)
    assert filter_jumps(glitchy, filtered, t)[36]  # the filter had to move it far
    assert not filter_jumps(fast, butterworth_zero_lag(fast, t, 6.0), t)[5:-5].any()
