"""Camera calibration on synthetic checkerboard views with known intrinsics, and landmark undistortion."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from romcam.capture.camera_profile import CameraProfile, calibrate, solution_problems, undistort_xy_px
from romcam.kinematics.angles import compute_angles_deg
from romcam.landmarks import Landmark as L

SIZE = (640, 480)
K_TRUE = np.array([[520.0, 0.0, 322.0], [0.0, 515.0, 238.0], [0.0, 0.0, 1.0]])
DIST_TRUE = np.array([-0.28, 0.09, 0.0, 0.0, 0.0])  # a wide-angle webcam's barrel distortion
SQUARE_MM = 25.0
INNER = (9, 6)


def render_board(
    rvec: np.ndarray, tvec: np.ndarray, k: np.ndarray = K_TRUE, dist: np.ndarray = DIST_TRUE
) -> np.ndarray:
    """The checkerboard as a distorted camera (``k``, ``dist``) sees it, by casting a ray through every pixel."""
    w, h = SIZE
    pix = np.stack(np.meshgrid(np.arange(w) + 0.0, np.arange(h) + 0.0), axis=-1).reshape(-1, 1, 2)
    rays = cv2.undistortPoints(pix, k, dist).reshape(-1, 2)
    d = np.column_stack([rays, np.ones(len(rays))])
    r, _ = cv2.Rodrigues(rvec)
    a = np.stack([np.broadcast_to(r[:, 0], d.shape), np.broadcast_to(r[:, 1], d.shape), -d], axis=-1)
    uvs = np.linalg.solve(a, np.broadcast_to(-tvec.ravel(), d.shape)[..., None])[..., 0]
    u, v = uvs[:, 0] / SQUARE_MM + 1, uvs[:, 1] / SQUARE_MM + 1  # squares, one before the first corner
    inside = (u >= 0) & (u < INNER[0] + 1) & (v >= 0) & (v < INNER[1] + 1)
    black = inside & ((np.floor(u) + np.floor(v)) % 2 == 0)
    image = np.full(len(d), 235, np.uint8)
    image[black] = 20
    return cv2.cvtColor(image.reshape(h, w), cv2.COLOR_GRAY2BGR)


def _views() -> list[tuple[np.ndarray, np.ndarray]]:
    """Board poses that put the board at the centre, the edges and the corners of the picture, tilted."""
    views = []
    tilts = [(0.25, -0.2, 0.05), (-0.3, 0.25, -0.05), (0.2, 0.3, 0.1), (-0.25, -0.3, 0.0), (0.35, 0.0, -0.1)]
    centre_mm = np.array([100.0, 62.5, 0.0])  # middle of the inner corners
    for i, (px, py) in enumerate(
        [(0, 0), (-160, -110), (160, -110), (-160, 110), (160, 110), (-170, 0), (170, 0), (0, -120), (0, 120)]
    ):
        z = 360.0
        rvec = np.array(tilts[i % len(tilts)])
        r, _ = cv2.Rodrigues(rvec)
        target = np.array([px * z / K_TRUE[0, 0], py * z / K_TRUE[1, 1], z])
        views.append((rvec, target - r @ centre_mm))
    return views


@pytest.fixture(scope="module")
def profile() -> CameraProfile:
    images = [render_board(r, t) for r, t in _views()]
    return calibrate(images, INNER, SQUARE_MM, note="synthetic")


def test_calibration_recovers_known_intrinsics(profile: CameraProfile) -> None:
    k = profile.camera_matrix
    np.testing.assert_allclose([k[0, 0], k[1, 1]], [K_TRUE[0, 0], K_TRUE[1, 1]], rtol=0.01)
    np.testing.assert_allclose([k[0, 2], k[1, 2]], [K_TRUE[0, 2], K_TRUE[1, 2]], atol=3.0)
    np.testing.assert_allclose(profile.dist_coeffs[:2], DIST_TRUE[:2], atol=0.03)
    assert profile.rms_px < 0.5 and profile.views >= 7


def test_profile_round_trip(profile: CameraProfile, tmp_path: Path) -> None:
    profile.save(tmp_path / "cam.toml")
    back = CameraProfile.load(tmp_path / "cam.toml")
    np.testing.assert_allclose(back.camera_matrix, profile.camera_matrix, atol=1e-5)
    np.testing.assert_allclose(back.dist_coeffs, profile.dist_coeffs, atol=1e-7)
    assert (back.width_px, back.height_px) == SIZE


def _straight_arm_at_the_edge() -> tuple[np.ndarray, np.ndarray]:
    """A straight arm (shoulder-elbow-wrist collinear) near the image's top-left corner, 1.5 m away."""
    shoulder, wrist = np.array([-0.62, -0.40, 1.5]), np.array([-0.75, -0.12, 1.5])
    arm = np.stack([shoulder, (shoulder + wrist) / 2, wrist])
    seen, _ = cv2.projectPoints(arm, np.zeros(3), np.zeros(3), K_TRUE, DIST_TRUE)
    ideal, _ = cv2.projectPoints(arm, np.zeros(3), np.zeros(3), K_TRUE, np.zeros(5))
    return seen.reshape(3, 2), ideal.reshape(3, 2)


def _elbow(points: np.ndarray) -> float:
    xy = np.full((1, 33, 2), np.nan)
    xy[0, [int(L.LEFT_SHOULDER), int(L.LEFT_ELBOW), int(L.LEFT_WRIST)]] = points
    return float(compute_angles_deg(xy, ["left_elbow_flexion"])["left_elbow_flexion"][0])


def test_undistortion_straightens_an_edge_measurement(profile: CameraProfile) -> None:
    seen, ideal = _straight_arm_at_the_edge()
    assert np.all(seen[:, 0] < 200) and np.all(seen[:, 1] < 250)  # near the edge, where distortion is strong
    distorted = _elbow(seen)
    corrected = _elbow(undistort_xy_px(seen, profile))
    assert distorted > 1.0  # barrel distortion bends the straight arm
    assert abs(corrected - _elbow(ideal)) < 0.3  # and undistortion removes that bend
    assert abs(corrected) < abs(distorted)


def test_undistortion_keeps_nan_and_shape(profile: CameraProfile) -> None:
    xy = np.full((4, 33, 2), 300.0)
    xy[1, 5] = np.nan
    out = undistort_xy_px(xy, profile)
    assert out.shape == xy.shape and np.isnan(out[1, 5]).all() and np.isfinite(out[0]).all()


def test_calibrate_command_and_profile_on_analyze(tmp_path: Path) -> None:
    import json

    from conftest import run_cli
    from fk import side_view

    from romcam.types import PoseSequence

    folder = tmp_path / "board"
    folder.mkdir()
    for i, (r, t) in enumerate(_views()):
        cv2.imwrite(str(folder / f"view{i}.png"), render_board(r, t))
    (folder / "notes.txt").write_text("not an image")
    result = run_cli("calibrate", "camera", "--source", str(folder), "--out", str(tmp_path / "cam.toml"))
    assert result.returncode == 0, result.stderr
    assert "board found in 8 of 9 images" in result.stdout
    # a person near the left edge of a 640x480 frame: the profile changes the angles a little
    xy = np.stack([side_view(1, knee_flexion=(k, k), hip_flexion=(20.0, 20.0)) for k in np.linspace(0, 60, 40)])
    xy = xy * 0.45 + np.array([-150.0, -40.0])
    seq = PoseSequence(xy, np.zeros((40, 33, 3)), np.ones((40, 33)), np.arange(40) / 30, 640, 480)
    seq.save_npz(tmp_path / "l.npz")
    plain = run_cli("analyze", "--from-landmarks", str(tmp_path / "l.npz"), "--out", str(tmp_path / "a"), "--json")
    fixed = run_cli(
        "analyze",
        "--from-landmarks",
        str(tmp_path / "l.npz"),
        "--out",
        str(tmp_path / "b"),
        "--json",
        "--camera-profile",
        str(tmp_path / "cam.toml"),
    )
    a, b = json.loads(plain.stdout), json.loads(fixed.stdout)
    assert a["camera_profile"] is None and b["camera_profile"]["file"].endswith("cam.toml")
    diff = abs(a["angles"]["right_knee_flexion"]["max_deg"] - b["angles"]["right_knee_flexion"]["max_deg"])
    assert 0.1 < diff < 10.0
    PoseSequence(xy, np.zeros((40, 33, 3)), np.ones((40, 33)), np.arange(40) / 30, 1280, 720).save_npz(
        tmp_path / "hd.npz"
    )
    wrong = run_cli(
        "analyze",
        "--from-landmarks",
        str(tmp_path / "hd.npz"),
        "--out",
        str(tmp_path / "c"),
        "--camera-profile",
        str(tmp_path / "cam.toml"),
    )
    assert wrong.returncode == 1 and "the camera profile is for 640x480 frames" in wrong.stderr


def test_example_profile_in_calibration_folder_loads() -> None:
    root = Path(__file__).resolve().parents[1]
    profile = CameraProfile.load(root / "calibration" / "example_profile_640x480.toml")
    assert (profile.width_px, profile.height_px) == (640, 480) and profile.rms_px < 1.0


def test_a_good_solution_passes_the_checks(profile: CameraProfile) -> None:
    assert solution_problems(profile) == []  # a real wide-angle barrel (14 % at the corners) is plausible


def test_the_solutions_users_got_are_refused(profile: CameraProfile) -> None:
    """A 2.57 px RMS solution with k2 = +48.9, as a user's blurred board views gave."""
    bad = CameraProfile(profile.camera_matrix, np.array([-0.9, 48.9, 0.0, 0.0, 0.0]), 640, 480, 2.57, 12)
    problems = solution_problems(bad)
    assert len(problems) == 2
    assert "2.57 px is above 1 px" in problems[0] and "k2 +48.9" in problems[1]
    fold = CameraProfile(profile.camera_matrix, np.array([-0.6, 0.0, 0.0, 0.0, 0.0]), 640, 480, 0.3, 12)
    assert "folds back" in solution_problems(fold)[0]  # r (1 - 0.6 r^2) turns over before the image corner


def test_calibrate_refuses_views_of_two_cameras_and_writes_nothing(tmp_path: Path) -> None:
    """Every other view taken with another camera (principal point 40 px and 30 px away, slight pincushion): no
    single lens model fits them, the solution reprojects at 1.2 px."""
    from conftest import run_cli

    folder = tmp_path / "board"
    folder.mkdir()
    other_k = K_TRUE + np.array([[0.0, 0.0, 40.0], [0.0, 0.0, -30.0], [0.0, 0.0, 0.0]])
    other_dist = np.array([0.05, 0.0, 0.0, 0.0, 0.0])
    for i, (r, t) in enumerate(_views()):
        image = render_board(r, t, other_k, other_dist) if i % 2 else render_board(r, t)
        cv2.imwrite(str(folder / f"view{i}.png"), image)
    out = tmp_path / "cam.toml"
    result = run_cli("calibrate", "camera", "--source", str(folder), "--out", str(out))
    assert result.returncode == 1 and "camera solution rejected, nothing written" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    kept = run_cli("calibrate", "camera", "--source", str(folder), "--out", str(out), "--accept-poor-fit")
    assert kept.returncode == 0 and "warning:" in kept.stderr and out.exists()
