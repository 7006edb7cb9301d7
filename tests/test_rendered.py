"""The project's rendered samples against their ground truth (real MediaPipe inference).

The truth is the clinical angle of the rendered body's skeleton joint centres. MediaPipe's
landmarks sit at slightly different places than those joint centres (the hip most of all), so a
few degrees of bias are expected; the tolerances below are the errors measured on these clips
(see README, "Accuracy"), with a margin of about 1 degree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES, require, run_cli

from romcam.output.tables import read_angles_csv

pytestmark = pytest.mark.slow

# clip, angle, max MAE (deg), max |peak error| (deg)
CASES = {
    "rendered_side_left": [
        ("left_knee_flexion", 4.5, 8.0),
        ("left_hip_flexion", 7.5, 11.0),
        ("left_shoulder_flexion", 3.0, 8.0),
        ("left_elbow_flexion", 5.0, 6.0),
    ],
    "rendered_front": [
        ("left_shoulder_abduction", 5.5, 19.0),  # the 154° end range reads 18° low: issue 13 (end-range accuracy)
        ("right_shoulder_abduction", 4.5, 13.0),
    ],
}


@pytest.fixture(scope="module", params=sorted(CASES))
def analysed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    clip = request.param
    out = tmp_path_factory.mktemp(clip)
    result = run_cli("analyze", str(require(SAMPLES / f"{clip}.mp4")), "--out", str(out), "--no-video")
    assert result.returncode == 0, result.stderr
    return clip, out


def test_rendered_clip_matches_truth(analysed: tuple[str, Path]) -> None:
    clip, out = analysed
    t, got = read_angles_csv(out / "angles.csv")
    t_truth, truth = read_angles_csv(require(SAMPLES / f"{clip}_truth.csv"))
    np.testing.assert_allclose(t, t_truth, atol=1e-3)
    for name, max_mae, max_peak_err in CASES[clip]:
        assert np.isfinite(got[name]).mean() > 0.95, name
        err = got[name] - truth[name]
        mae = float(np.nanmean(np.abs(err)))
        peak_err = abs(float(np.nanmax(got[name]) - np.max(truth[name])))
        assert mae <= max_mae, f"{name}: MAE {mae:.2f} > {max_mae}"
        assert peak_err <= max_peak_err, f"{name}: peak error {peak_err:.2f} > {max_peak_err}"
        # the movement happens when the truth says: the measured peak is within 0.3 s of the true one
        assert abs(t[int(np.nanargmax(got[name]))] - t_truth[int(np.argmax(truth[name]))]) < 0.3, name


def test_angles_of_the_other_plane_are_flagged(analysed: tuple[str, Path]) -> None:
    import json

    from romcam.output.tables import read_angles_csv_with_flags
    from romcam.rules.accuracy import GRADE_P95_DEG

    clip, out = analysed
    angles = json.loads((out / "summary.json").read_text())["angles"]
    _, got, flags = read_angles_csv_with_flags(out / "angles.csv")
    _, truth = read_angles_csv(require(SAMPLES / f"{clip}_truth.csv"))
    measured = {name for name, _, _ in CASES[clip]}
    for name in measured:
        assert angles[name]["flags"] == [], name  # the clip films these in their own plane
        grade = angles[name]["confidence"]["grade"]
        assert grade != "D", name
        # the grade states an error: |error| of the unflagged frames within its bound on 95 % of them
        clean = np.isfinite(got[name]) & np.array([f == "" for f in flags[name]])
        p95 = float(np.percentile(np.abs(got[name] - truth[name])[clean], 95))
        assert p95 <= dict((g, b) for b, g in GRADE_P95_DEG)[grade], f"{name}: grade {grade}, p95 {p95:.1f}"
    if clip == "rendered_side_left":
        assert angles["left_shoulder_abduction"]["flags"] == ["unreliable: camera not front-on"]
        assert angles["left_shoulder_abduction"]["confidence"]["grade"] == "D"
        assert angles["left_knee_valgus"]["view_ok_fraction"] < 0.1
    else:
        assert angles["left_knee_flexion"]["flags"] == ["unreliable: camera not side-on"]
