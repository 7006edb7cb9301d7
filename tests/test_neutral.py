"""Camera roll and zero offsets from a neutral capture (analytic)."""

from __future__ import annotations

import numpy as np
import pytest
from fk import front_view, side_view

from romcam.kinematics.angles import compute_angles_deg
from romcam.kinematics.neutral import camera_roll_deg, level_xy_px, rotate_xy_px, zero_offsets_deg


@pytest.mark.parametrize("roll", [-12.0, -3.0, 0.0, 5.0, 9.5])
@pytest.mark.parametrize("pose", [front_view(), side_view(1)], ids=["front", "side"])
def test_roll_is_recovered_and_levelling_restores_the_vertical(roll: float, pose: np.ndarray) -> None:
    frames = np.stack([rotate_xy_px(pose, roll, (320.0, 240.0)) for _ in range(10)])
    assert camera_roll_deg(frames) == pytest.approx(roll, abs=1e-6)
    tilted = compute_angles_deg(frames[:1])
    levelled = compute_angles_deg(level_xy_px(frames[:1], roll, 640, 480))
    vertical_angle = (
        "trunk_lateral_lean"
        if pose is not None and np.isfinite(tilted["trunk_lateral_lean"]).all()
        else "trunk_flexion"
    )
    assert levelled[vertical_angle][0] == pytest.approx(0.0, abs=1e-6)
    if roll:
        assert abs(tilted[vertical_angle][0]) == pytest.approx(abs(roll), abs=1e-6)  # the roll was an error
    for name in ("left_elbow_flexion", "right_knee_flexion"):  # joint angles do not care about roll
        np.testing.assert_allclose(levelled[name], tilted[name], atol=1e-6)


def test_zero_offsets_are_the_medians() -> None:
    offsets = zero_offsets_deg({"a": np.array([4.0, 5.0, 6.0, np.nan]), "b": np.array([np.nan, np.nan])})
    assert offsets == {"a": 5.0}


def test_calibrate_neutral_then_analyze_levels_the_trunk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from conftest import run_cli

    from romcam.types import PoseSequence

    roll = 6.0
    standing = np.stack([rotate_xy_px(front_view(), roll, (320.0, 240.0)) for _ in range(30)])
    PoseSequence(standing, np.zeros((30, 33, 3)), np.ones((30, 33)), np.arange(30) / 30, 640, 480).save_npz(
        tmp_path / "neutral.npz"
    )
    made = run_cli(
        "calibrate", "neutral", "--from-landmarks", str(tmp_path / "neutral.npz"), "--out", str(tmp_path / "n.toml")
    )
    assert made.returncode == 0, made.stderr
    assert "camera roll +6.0 deg" in made.stdout
    leaning = np.stack([rotate_xy_px(front_view(trunk_lateral_lean=8.0), roll, (320.0, 240.0)) for _ in range(30)])
    PoseSequence(leaning, np.zeros((30, 33, 3)), np.ones((30, 33)), np.arange(30) / 30, 640, 480).save_npz(
        tmp_path / "lean.npz"
    )
    result = run_cli(
        "analyze",
        "--from-landmarks",
        str(tmp_path / "lean.npz"),
        "--out",
        str(tmp_path / "o"),
        "--neutral",
        str(tmp_path / "n.toml"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    lean = json.loads(result.stdout)["angles"]["trunk_lateral_lean"]
    assert lean["max_deg"] == pytest.approx(8.0, abs=0.05)  # without the neutral the roll adds to it


def test_roll_set_by_hand_levels_like_a_capture(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from conftest import run_cli

    from romcam.types import PoseSequence

    made = run_cli("calibrate", "neutral", "--roll-deg", "6", "--size", "640x480", "--out", str(tmp_path / "n.toml"))
    assert made.returncode == 0, made.stderr
    assert run_cli("calibrate", "neutral", "--roll-deg", "6", "--out", str(tmp_path / "x.toml")).returncode == 2
    assert run_cli("calibrate", "neutral", "--roll-deg", "6", "--size", "640", "--out", "x.toml").returncode == 2
    leaning = np.stack([rotate_xy_px(front_view(trunk_lateral_lean=8.0), 6.0, (320.0, 240.0)) for _ in range(30)])
    seq = PoseSequence(leaning, np.zeros((30, 33, 3)), np.ones((30, 33)), np.arange(30) / 30, 640, 480)
    seq.save_npz(tmp_path / "lean.npz")
    args = ("--from-landmarks", str(tmp_path / "lean.npz"), "--neutral", str(tmp_path / "n.toml"), "--json")
    result = run_cli("analyze", "--out", str(tmp_path / "o"), *args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["angles"]["trunk_lateral_lean"]["max_deg"] == pytest.approx(8.0, abs=0.05)


def test_profile_round_trip_keeps_segment_lengths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from romcam.capture.neutral_profile import NeutralProfile

    profile = NeutralProfile(1.5, 640, 480, {"left_knee_flexion": 2.0}, 30, {"left_knee_flexion": 187.25})
    profile.save(tmp_path / "n.toml")
    assert NeutralProfile.load(tmp_path / "n.toml") == profile


def test_neutral_lengths_flag_a_limb_turned_toward_the_camera_all_clip_long(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from conftest import run_cli

    from romcam.landmarks import Landmark as L
    from romcam.output.tables import read_angles_csv_with_flags
    from romcam.types import PoseSequence

    def save(xy: np.ndarray, name: str) -> str:
        n = len(xy)
        PoseSequence(xy, np.zeros((n, 33, 3)), np.ones((n, 33)), np.arange(n) / 30, 640, 480).save_npz(tmp_path / name)
        return str(tmp_path / name)

    standing = np.stack([side_view(1) for _ in range(30)])
    made = run_cli(
        "calibrate", "neutral", "--from-landmarks", save(standing, "n.npz"), "--out", str(tmp_path / "n.toml")
    )
    assert made.returncode == 0, made.stderr
    turned = standing.copy()  # the right shank points toward the camera the whole clip: 65 % of its length
    knee, ankle = int(L.RIGHT_KNEE), int(L.RIGHT_ANKLE)
    turned[:, ankle] = turned[:, knee] + 0.65 * (turned[:, ankle] - turned[:, knee])
    clip = save(turned, "t.npz")
    plain = run_cli("analyze", "--from-landmarks", clip, "--out", str(tmp_path / "a"), "--json")
    levelled = run_cli(
        "analyze",
        "--from-landmarks",
        clip,
        "--out",
        str(tmp_path / "b"),
        "--neutral",
        str(tmp_path / "n.toml"),
        "--json",
    )
    assert plain.returncode == 0 and levelled.returncode == 0, plain.stderr + levelled.stderr
    _, _, flags_a = read_angles_csv_with_flags(tmp_path / "a" / "angles.csv")
    _, _, flags_b = read_angles_csv_with_flags(tmp_path / "b" / "angles.csv")
    assert not any("foreshortened" in f for f in flags_a["right_knee_flexion"])  # the clip alone cannot tell
    assert all("foreshortened" in f for f in flags_b["right_knee_flexion"])
    knee = json.loads(levelled.stdout)["angles"]["right_knee_flexion"]
    assert knee["status"] == "not_measurable" and knee["max_deg"] is None and knee["confidence"]["grade"] == "D"
    assert knee["all_frames_max_deg"] is not None and "foreshortened" in knee["flag_codes"]


def test_a_neutral_capture_with_arm_raises_is_refused_naming_the_joint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from conftest import run_cli

    from romcam.types import PoseSequence

    n = 60
    raising = [side_view(1, shoulder_flexion=(a, a)) for a in 90 * np.clip(np.sin(np.linspace(0, 6 * np.pi, n)), 0, 1)]
    PoseSequence(np.stack(raising), np.zeros((n, 33, 3)), np.ones((n, 33)), np.arange(n) / 30, 640, 480).save_npz(
        tmp_path / "moving.npz"
    )
    out = tmp_path / "n.toml"
    result = run_cli("calibrate", "neutral", "--from-landmarks", str(tmp_path / "moving.npz"), "--out", str(out))
    assert result.returncode == 1 and "the person moved during the neutral capture" in result.stderr
    assert "shoulder flexion" in result.stderr and "stand still" in result.stderr
    assert not out.exists()
