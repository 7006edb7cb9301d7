"""Bad input gets one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import clip_path, run_cli


def _assert_one_line_error(result, code: int, pattern: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("romcam") or "error" in ln]
    assert lines, result.stderr
    assert pattern in lines[-1], lines[-1]


def test_missing_file(tmp_path: Path) -> None:
    _assert_one_line_error(
        run_cli("analyze", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o")), 1, "no such file"
    )


def test_directory(tmp_path: Path) -> None:
    _assert_one_line_error(run_cli("analyze", str(tmp_path), "--out", str(tmp_path / "o")), 1, "is a directory")


def test_text_file_renamed_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    _assert_one_line_error(run_cli("analyze", str(fake), "--out", str(tmp_path / "o")), 1, "not a readable video")


def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    _assert_one_line_error(run_cli("analyze", str(empty), "--out", str(tmp_path / "o")), 1, "is empty")


def test_truncated_video_is_a_short_read_not_100_percent(tmp_path: Path) -> None:
    """The shipped clip keeps its index at the front, so a copy cut to a third still opens: the frames that
    decode are analysed, and the summary and the table say the read was short."""
    source = clip_path("squat_front_02_home_workout.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(source[: len(source) // 3])
    result = run_cli("analyze", str(cut), "--out", str(tmp_path / "o"), "--no-video")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert 0 < summary["video"]["frames_read"] < 0.9 * summary["video"]["frame_count_header"]
    assert any(w.startswith("short read") for w in summary["warnings"])
    assert "warning: short read" in result.stdout


def test_unknown_angle_name(tmp_path: Path) -> None:
    result = run_cli("analyze", str(tmp_path / "x.mp4"), "--out", str(tmp_path / "o"), "--angles", "left_knee,trunk")
    _assert_one_line_error(result, 2, "unknown angle left_knee, trunk; valid angles: left_shoulder_flexion")


def test_unwritable_output_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    clip = clip_path("bridge_supine_side_01_backlit.mp4")
    _assert_one_line_error(
        run_cli("analyze", str(clip), "--out", str(blocker / "out")), 1, "cannot write to output directory"
    )


@pytest.mark.parametrize("args", [["--cutoff-hz", "-1"], ["--min-visibility", "2"], ["--filter", "kalman"]])
def test_wrong_option_values_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    result = run_cli("analyze", "x.mp4", "--out", str(tmp_path), *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_video_and_from_landmarks_are_exclusive(tmp_path: Path) -> None:
    result = run_cli("analyze", "--out", str(tmp_path))
    _assert_one_line_error(result, 2, "give either a VIDEO or --from-landmarks FILE")


def test_corrupt_landmarks_file(tmp_path: Path) -> None:
    bad = tmp_path / "l.npz"
    bad.write_bytes(b"PK\x03\x04 broken")
    _assert_one_line_error(
        run_cli("analyze", "--from-landmarks", str(bad), "--out", str(tmp_path / "o")), 1, "cannot read landmarks"
    )


@pytest.mark.parametrize(
    ("frames", "meta", "message"), [(3, "[1, 2]", "not a JSON object"), (0, "{}", "holds no frames")]
)
def test_odd_landmarks_files(tmp_path: Path, frames: int, meta: str, message: str) -> None:
    from romcam.types import PoseSequence

    xy = np.full((frames, 33, 2), 200.0)
    seq = PoseSequence(xy, np.zeros((frames, 33, 3)), np.ones((frames, 33)), np.arange(frames) / 30.0, 640, 480)
    seq.save_npz(tmp_path / "l.npz", meta)
    _assert_one_line_error(
        run_cli("analyze", "--from-landmarks", str(tmp_path / "l.npz"), "--out", str(tmp_path / "o")), 1, message
    )


def test_batch_with_a_missing_camera_profile_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("batch", str(tmp_path), "--out", str(tmp_path / "o"), "--camera-profile", "/nope.toml")
    _assert_one_line_error(result, 2, "--camera-profile: no such file: /nope.toml")


def test_missing_camera_is_one_line(tmp_path: Path) -> None:
    _assert_one_line_error(run_cli("analyze", "7", "--out", str(tmp_path / "o")), 1, "cannot open camera 7")


def test_models_path_and_list(tmp_path: Path) -> None:
    result = run_cli("models", "path")
    assert result.returncode == 0 and result.stdout.strip().endswith("pose_landmarker_full.task")
    listing = run_cli("models", "list", env={"ROMCAM_CACHE_DIR": str(tmp_path)})
    assert listing.returncode == 0
    assert [ln.split()[0] for ln in listing.stdout.splitlines()] == ["lite", "full", "heavy"]
    assert all("not cached" in ln for ln in listing.stdout.splitlines())
