"""Angles against analytic ground truth, and their invariances."""

from __future__ import annotations

import numpy as np
import pytest
from fk import as_sequence, front_view, rot, side_view
from hypothesis import given, settings
from hypothesis import strategies as st

from romcam.kinematics.angles import ANGLE_NAMES, REGISTRY, compute_angles_deg, resolve_angle_names
from romcam.landmarks import MIRROR_INDEX

ATOL_DEG = 0.01

SIDE_CASES = [
    # facing, trunk, shoulder (L, R), elbow, hip, knee, ankle
    (1, 0.0, (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)),
    (1, 10.0, (30.0, 120.0), (20.0, 45.0), (60.0, -10.0), (70.0, -5.0), (10.0, -20.0)),
    (-1, -5.0, (-40.0, 175.0), (0.0, 90.0), (100.0, 20.0), (130.0, 0.0), (-15.0, 5.0)),
    (-1, 35.0, (90.0, -55.0), (140.0, 5.0), (115.0, -25.0), (95.0, 140.0), (25.0, -45.0)),
    (1, 0.0, (180.0, 200.0), (150.0, 0.0), (0.0, 130.0), (-10.0, 150.0), (0.0, 0.0)),
]

FRONT_CASES = [
    # lean, shoulder abduction (L, R), elbow, hip abduction, valgus
    (0.0, (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)),
    (8.0, (40.0, 150.0), (10.0, 30.0), (20.0, -10.0), (12.0, -6.0)),
    (-12.0, (-20.0, 90.0), (0.0, 120.0), (0.0, 40.0), (-5.0, 3.0)),
    (3.0, (180.0, 175.0), (60.0, 0.0), (45.0, 30.0), (25.0, 16.8)),
]


@pytest.mark.parametrize("case", SIDE_CASES)
def test_side_view_angles_recovered(case: tuple) -> None:
    facing, trunk, shoulder, elbow, hip, knee, ankle = case
    xy = as_sequence([side_view(facing, trunk, shoulder, elbow, hip, knee, ankle)])
    got = compute_angles_deg(xy)
    truth = {"trunk_flexion": trunk}
    for i, side in enumerate(("left", "right")):
        truth |= {
            f"{side}_shoulder_flexion": shoulder[i],
            f"{side}_elbow_flexion": elbow[i],
            f"{side}_hip_flexion": hip[i],
            f"{side}_knee_flexion": knee[i],
            f"{side}_ankle_dorsiflexion": ankle[i],
        }
    for name, value in truth.items():
        np.testing.assert_allclose(got[name], [value], atol=ATOL_DEG, err_msg=name)


@pytest.mark.parametrize("case", FRONT_CASES)
def test_front_view_angles_recovered(case: tuple) -> None:
    lean, shoulder, elbow, hip, valgus = case
    got = compute_angles_deg(as_sequence([front_view(lean, shoulder, elbow, hip, valgus)]))
    truth = {"trunk_lateral_lean": lean}
    for i, side in enumerate(("left", "right")):
        truth |= {
            f"{side}_shoulder_abduction": shoulder[i],
            f"{side}_elbow_flexion": elbow[i],
            f"{side}_hip_abduction": hip[i],
            f"{side}_knee_valgus": valgus[i],
            # no facing in a front view: the knee reads the magnitude of its 2D bend
            f"{side}_knee_flexion": abs(valgus[i]),
        }
    for name, value in truth.items():
        np.testing.assert_allclose(got[name], [value], atol=ATOL_DEG, err_msg=name)


def test_every_registry_angle_is_covered_by_a_truth_case() -> None:
    side = {"trunk_flexion"} | {
        f"{s}_{m}"
        for s in ("left", "right")
        for m in ("shoulder_flexion", "elbow_flexion", "hip_flexion", "knee_flexion", "ankle_dorsiflexion")
    }
    front = {"trunk_lateral_lean"} | {
        f"{s}_{m}" for s in ("left", "right") for m in ("shoulder_abduction", "hip_abduction", "knee_valgus")
    }
    assert side | front == set(ANGLE_NAMES)


def test_registry_order_and_names_are_the_output_contract() -> None:
    assert ANGLE_NAMES == (
        "left_shoulder_flexion",
        "right_shoulder_flexion",
        "left_shoulder_abduction",
        "right_shoulder_abduction",
        "left_elbow_flexion",
        "right_elbow_flexion",
        "left_hip_flexion",
        "right_hip_flexion",
        "left_hip_abduction",
        "right_hip_abduction",
        "left_knee_flexion",
        "right_knee_flexion",
        "left_ankle_dorsiflexion",
        "right_ankle_dorsiflexion",
        "left_knee_valgus",
        "right_knee_valgus",
        "trunk_flexion",
        "trunk_lateral_lean",
    )
    assert all(REGISTRY[n].plane in {"sagittal", "frontal", "any"} for n in ANGLE_NAMES)


def test_unknown_angle_name_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown angle left_knee_flex.*left_knee_flexion"):
        resolve_angle_names(["left_knee_flex"])


def test_missing_landmarks_give_nan_not_errors() -> None:
    xy = as_sequence([side_view(knee_flexion=(40.0, 40.0))])
    xy[0, 25] = np.nan  # left knee
    got = compute_angles_deg(xy)
    assert np.isnan(got["left_knee_flexion"][0])
    np.testing.assert_allclose(got["right_knee_flexion"], [40.0], atol=ATOL_DEG)


def test_knee_flexion_sweep_has_no_wrap_jumps() -> None:
    truth = np.linspace(-10.0, 160.0, 200)
    xy = as_sequence([side_view(-1, hip_flexion=(90.0, 90.0), knee_flexion=(k, k)) for k in truth])
    got = compute_angles_deg(xy)["left_knee_flexion"]
    np.testing.assert_allclose(got, truth, atol=ATOL_DEG)
    assert np.max(np.abs(np.diff(got))) < 1.0


# --- invariances ---------------------------------------------------------------------------------

poses = st.sampled_from([side_view(*c) for c in SIDE_CASES[1:]] + [front_view(*c) for c in FRONT_CASES[1:]])
VERTICAL_REFERENCED = {"trunk_flexion", "trunk_lateral_lean"}


def _similar(xy: np.ndarray, angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    rotated = np.array([rot(p, angle_deg) if np.isfinite(p).all() else p for p in xy])
    return rotated * scale + np.asarray(shift)


def _assert_angles_close(a: dict[str, np.ndarray], b: dict[str, np.ndarray], names: set[str]) -> None:
    for n in names:
        np.testing.assert_allclose(a[n], b[n], atol=1e-6, equal_nan=True, err_msg=n)


@settings(max_examples=60, deadline=None)
@given(pose=poses, scale=st.floats(0.2, 5.0), dx=st.floats(-2000, 2000), dy=st.floats(-2000, 2000))
def test_translation_and_scale_change_nothing(pose: np.ndarray, scale: float, dx: float, dy: float) -> None:
    base = compute_angles_deg(pose[None])
    moved = compute_angles_deg(_similar(pose, 0.0, scale, (dx, dy))[None])
    _assert_angles_close(base, moved, set(ANGLE_NAMES))


@settings(max_examples=60, deadline=None)
@given(pose=poses, angle=st.floats(-60.0, 60.0))
def test_image_rotation_changes_only_angles_to_the_vertical(pose: np.ndarray, angle: float) -> None:
    base = compute_angles_deg(pose[None])
    turned = compute_angles_deg(_similar(pose, angle, 1.0, (0.0, 0.0))[None])
    _assert_angles_close(base, turned, set(ANGLE_NAMES) - VERTICAL_REFERENCED)


@settings(max_examples=60, deadline=None)
@given(pose=poses)
def test_mirroring_swaps_left_and_right(pose: np.ndarray) -> None:
    base = compute_angles_deg(pose[None])
    mirrored = pose[list(MIRROR_INDEX)].copy()
    mirrored[:, 0] = 1000.0 - mirrored[:, 0]
    flipped = compute_angles_deg(mirrored[None])
    for name in ANGLE_NAMES:
        if name.startswith("left_"):
            other = "right_" + name.removeprefix("left_")
        elif name.startswith("right_"):
            other = "left_" + name.removeprefix("right_")
        else:
            other = name
        expected = -base[other] if name == "trunk_lateral_lean" else base[other]
        np.testing.assert_allclose(flipped[name], expected, atol=1e-6, equal_nan=True, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(knee=st.floats(-20.0, 170.0), hip=st.floats(-30.0, 130.0), facing=st.sampled_from([-1, 1]))
def test_side_view_knee_and_hip_recovered_over_their_range(knee: float, hip: float, facing: int) -> None:
    got = compute_angles_deg(side_view(facing, hip_flexion=(hip, hip), knee_flexion=(knee, knee))[None])
    np.testing.assert_allclose(got["right_knee_flexion"], [knee], atol=ATOL_DEG)
    np.testing.assert_allclose(got["right_hip_flexion"], [hip], atol=ATOL_DEG)
