"""Left/right label repair on synthetic side-view walking."""

from __future__ import annotations

import numpy as np
import pytest
from fk import side_view

from romcam.kinematics.angles import compute_angles_deg
from romcam.kinematics.filters import FilterSettings, clean_trajectories
from romcam.kinematics.sides import LIMB_GROUPS, limb_glitches, repair_left_right, segment_length_ratio
from romcam.landmarks import MIRROR_INDEX
from romcam.landmarks import Landmark as L


def _walk(n: int = 90) -> np.ndarray:
    """A gait-like side view: legs swing in anti-phase, knees bend in swing, arms counter-swing."""
    t = np.arange(n) / 30.0
    phase = 2 * np.pi * 1.0 * t
    frames = []
    for p in phase:
        hip_l, hip_r = 25 * np.sin(p), 25 * np.sin(p + np.pi)
        knee_l, knee_r = 35 * max(0.0, np.sin(p + 0.6)), 35 * max(0.0, np.sin(p + np.pi + 0.6))
        frames.append(
            side_view(
                1,
                hip_flexion=(hip_l, hip_r),
                knee_flexion=(knee_l, knee_r),
                shoulder_flexion=(-20 * np.sin(p), 20 * np.sin(p)),
            )
        )
    return np.stack(frames) + np.array([[[3.0 * i, 0.0]] for i in range(n)])  # walking to the right


def _swap_limbs(xy: np.ndarray, frames: list[int]) -> np.ndarray:
    """The model swapped every limb's left/right labels in these frames (hips, shoulders and face kept)."""
    out = xy.copy()
    limbs = [i for g in LIMB_GROUPS.values() for s in ("LEFT", "RIGHT") for i in (int(L[f"{s}_{n}"]) for n in g)]
    for f in frames:
        out[f, limbs] = xy[f][list(MIRROR_INDEX)][limbs]
    return out


def test_swapped_frames_are_repaired_exactly() -> None:
    truth = _walk()
    bad_frames = [10, 11, 12, 40, 41, 70]
    swapped_in = _swap_limbs(truth, bad_frames)
    vis = np.ones(truth.shape[:2])
    fixed, _, swapped = repair_left_right(swapped_in, vis)
    np.testing.assert_allclose(fixed, truth, atol=1e-9)
    assert sorted(np.flatnonzero(swapped[:, 0])) == bad_frames  # legs
    raw_err = np.abs(
        compute_angles_deg(swapped_in)["left_knee_flexion"] - compute_angles_deg(truth)["left_knee_flexion"]
    )
    assert raw_err[bad_frames].max() > 10  # the swap was a real error


def test_clean_walk_is_left_alone() -> None:
    truth = _walk()
    fixed, _, swapped = repair_left_right(truth, np.ones(truth.shape[:2]))
    assert not swapped.any()
    np.testing.assert_array_equal(fixed, truth)


def test_missing_landmarks_do_not_break_tracking() -> None:
    truth = _walk()
    bad = _swap_limbs(truth, [30])
    bad[29, 25:33] = np.nan  # legs hidden the frame before the swap
    fixed, _, swapped = repair_left_right(bad, np.ones(truth.shape[:2]))
    assert swapped[30, 0]
    np.testing.assert_allclose(fixed[30], truth[30], atol=1e-9)


def test_a_long_relabelling_is_not_a_flip_and_is_left_to_the_model() -> None:
    truth = _walk()
    relabelled = _swap_limbs(truth, list(range(40, 70)))  # a second of swapped labels: not a glitch
    fixed, _, swapped = repair_left_right(relabelled, np.ones(truth.shape[:2]))
    # the tracks follow the model inside a long relabelling; only its two ends may flag a few frames
    assert swapped[40:70, 0].sum() == 0 or swapped[:, 0].sum() <= 2 * 10
    np.testing.assert_allclose(fixed[60], relabelled[60])


def _collapse_left_knee(xy: np.ndarray, frames: list[int]) -> np.ndarray:
    """The model put the left knee half way to the right knee in these frames (both legs' points between
    the two legs), as it does for a raised far leg in side views."""
    out = xy.copy()
    k, r = int(L.LEFT_KNEE), int(L.RIGHT_KNEE)
    out[frames, k] = xy[frames, k] + 0.5 * (xy[frames, r] - xy[frames, k]) + np.array([0.0, -70.0])
    return out


def _marching(n: int = 60) -> np.ndarray:
    """Side view, left knee raised to hip 80 / knee 90 and lowered over two seconds."""
    lift = 0.5 * (1 - np.cos(2 * np.pi * np.arange(n) / n))
    return np.stack([side_view(1, hip_flexion=(80 * a, 0.0), knee_flexion=(90 * a, 0.0)) for a in lift])


def test_a_misplaced_knee_is_blanked_and_interpolated_back() -> None:
    truth = _marching()
    bad_frames = [28, 29, 30, 33]
    bad = _collapse_left_knee(truth, bad_frames)
    raw_err = np.abs(compute_angles_deg(bad)["left_knee_flexion"] - compute_angles_deg(truth)["left_knee_flexion"])
    assert raw_err[bad_frames].min() > 10  # the glitch is a real error
    misplaced, glitched = limb_glitches(bad, np.arange(60) / 30.0)
    blanked = np.where(misplaced[..., None], np.nan, bad)
    assert sorted(np.flatnonzero(glitched[:, 0])) == bad_frames
    assert not glitched[:, 1].any()  # arms untouched
    assert np.isnan(blanked[bad_frames, int(L.LEFT_KNEE)]).all()
    assert np.isfinite(blanked[bad_frames, int(L.LEFT_ANKLE)]).all()  # the shank end was right
    cleaned = clean_trajectories(blanked, np.ones(bad.shape[:2]), np.arange(60) / 30.0, FilterSettings(kind="none"))
    err = np.abs(compute_angles_deg(cleaned)["left_knee_flexion"] - compute_angles_deg(truth)["left_knee_flexion"])
    assert err[bad_frames].max() < 3.0  # linear interpolation across the gap, near the peak


def test_a_limb_turned_toward_the_camera_for_long_is_kept() -> None:
    truth = _marching()
    turned = truth.copy()
    k, h = int(L.LEFT_KNEE), int(L.LEFT_HIP)
    turned[10:40, k] = turned[10:40, h] + 0.6 * (turned[10:40, k] - turned[10:40, h])  # 1 s foreshortened thigh
    misplaced, glitched = limb_glitches(turned, np.arange(60) / 30.0)
    blanked = np.where(misplaced[..., None], np.nan, turned)
    assert not glitched.any()
    np.testing.assert_array_equal(blanked, turned)
    ratio = segment_length_ratio(turned, "LEFT_HIP", "LEFT_KNEE")
    assert ratio[20] == pytest.approx(0.6)
    assert ratio[5] == pytest.approx(1.0)


def _costs_frame_by_frame(xy: np.ndarray, group: str, before: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """keep and swap costs of ``track_costs`` followed one frame at a time: each point's track is where it was
    last seen before the frame."""
    names = LIMB_GROUPS[group]
    points = [int(L[f"LEFT_{n}"]) for n in names] + [int(L[f"RIGHT_{n}"]) for n in names]
    k = len(names)
    track = np.full((2 * k, 2), np.nan) if before is None else before.copy()
    keep, swap = np.full(len(xy), np.nan), np.full(len(xy), np.nan)

    def cost(now: np.ndarray, ref: np.ndarray) -> float:
        d = [float(np.hypot(*(a - b))) for a, b in zip(now, ref, strict=True) if np.isfinite(a - b).all()]
        return sum(d) if d else float("nan")

    for t, frame in enumerate(xy[:, points]):
        keep[t] = cost(frame[:k], track[:k]) + cost(frame[k:], track[k:])
        swap[t] = cost(frame[:k], track[k:]) + cost(frame[k:], track[:k])
        seen = np.isfinite(frame).all(axis=1)
        track[seen] = frame[seen]
    return keep, swap


@pytest.mark.parametrize("gaps", ["whole frames", "single points"])
def test_track_costs_match_the_tracks_followed_frame_by_frame(gaps: str) -> None:
    from romcam.kinematics.sides import track_costs

    rng = np.random.default_rng(4)
    xy = _walk(120) + rng.normal(0, 2.0, (120, 33, 2))
    if gaps == "whole frames":
        xy[[0, 1, 30, 31, 32, 77]] = np.nan
    else:
        xy[rng.random((120, 33)) < 0.15] = np.nan
    for group in LIMB_GROUPS:
        before = rng.normal(300, 40, (2 * len(LIMB_GROUPS[group]), 2))
        before[1] = np.nan
        for start in (None, before):
            keep, swap, seen = track_costs(xy, group, start)
            want_keep, want_swap = _costs_frame_by_frame(xy, group, start)
            np.testing.assert_allclose(keep, want_keep, rtol=1e-12, equal_nan=True)
            np.testing.assert_allclose(swap, want_swap, rtol=1e-12, equal_nan=True)
            names = LIMB_GROUPS[group]
            points = [int(L[f"{side}_{n}"]) for side in ("LEFT", "RIGHT") for n in names]
            np.testing.assert_array_equal(seen, np.asarray(np.isfinite(xy[:, points]).all(axis=2)).any(axis=1))
