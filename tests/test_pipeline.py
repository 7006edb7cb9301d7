"""One pipeline: app logic on recorded landmarks through the replay estimator (no model), and the same clip
reading the same through ``analyze`` and ``measure`` (offline), with the live mode close behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES, require, run_cli
from fk import side_view

from romcam.app.measure import FrameLoop, MeasureConfig, offline_pass
from romcam.capture.source import Frame
from romcam.pose.replay import ReplayEstimator
from romcam.protocols import get_protocol
from romcam.types import PoseSequence

FPS = 30.0
PEAKS_DEG = (100.0, 110.0, 95.0)


def _knee_bends(peaks: tuple[float, ...]) -> tuple[PoseSequence, np.ndarray]:
    """A person side-on, left side to the camera, bending the left knee to each peak and holding 1.5 s."""
    parts = [np.full(int(FPS), 2.0)]
    for peak in peaks:
        rise = np.linspace(2.0, peak, int(FPS), endpoint=False)
        parts += [rise, np.full(int(1.5 * FPS), peak), rise[::-1], np.full(int(FPS), 2.0)]
    knee = np.concatenate(parts)
    xy = np.stack([side_view(facing=-1, knee_flexion=(k, 0.0)) for k in knee])
    t = np.arange(len(knee)) / FPS
    n = len(knee)
    sequence = PoseSequence(xy, np.zeros((n, 33, 3)), np.full((n, 33), 0.99), t, 1000, 1100)
    return sequence, t


def _replayed(mode: str) -> list[float]:
    sequence, t = _knee_bends(PEAKS_DEG)
    config = MeasureConfig(get_protocol("knee_flexion"), Path("unused"), sides=("left",), headless=True, mode=mode)
    blank = np.zeros((1100, 1000, 3), dtype=np.uint8)
    loop = FrameLoop(config)
    rec = loop.run((Frame(i, float(t_s), blank) for i, t_s in enumerate(t)), ReplayEstimator(sequence))
    if config.offline_for("video"):
        offline_pass(config, loop, rec, 1000, 1100)
    return [trial.peak_deg for trial in loop.tracks["left"].detector.trials]


@pytest.mark.parametrize("mode", ["live", "offline"])
def test_measure_logic_on_replayed_landmarks_finds_the_known_trials(mode: str) -> None:
    np.testing.assert_allclose(_replayed(mode), PEAKS_DEG, atol=1.0)


def test_live_and_offline_agree_on_replayed_landmarks() -> None:
    np.testing.assert_allclose(_replayed("live"), _replayed("offline"), atol=1.0)


@pytest.fixture(scope="module")
def knee_clip_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The rendered knee-bend clip through analyze, and through measure in both modes."""
    clip = str(require(SAMPLES / "rendered_knee_trials_side_left.mp4"))
    base = tmp_path_factory.mktemp("agree")
    runs = {}
    analyzed = run_cli("analyze", clip, "--out", str(base / "a"), "--no-video", "--json")
    assert analyzed.returncode == 0, analyzed.stderr
    runs["analyze"] = json.loads(analyzed.stdout)
    for mode in ("offline", "live"):
        measured = run_cli(
            "measure", "--protocol", "knee_flexion", "--side", "left", "--source", clip, "--headless",
            "--out", str(base / mode), "--mode", mode, "--json",
        )  # fmt: skip
        assert measured.returncode == 0, measured.stderr
        runs[mode] = json.loads(measured.stdout)
    return runs


def test_analyze_and_offline_measure_read_the_same_peak(knee_clip_runs: dict[str, dict]) -> None:
    analyze_max = knee_clip_runs["analyze"]["angles"]["left_knee_flexion"]["max_deg"]
    offline = knee_clip_runs["offline"]
    assert offline["cleaning"] == "offline" and offline["filter"]["kind"] == "butterworth"
    trial_maxima = [t["max_deg"] for t in offline["results"][0]["trials"]]
    assert len(trial_maxima) == 3  # three rendered bends
    assert abs(max(trial_maxima) - analyze_max) < 0.5


def test_live_measure_is_within_a_degree_of_offline(knee_clip_runs: dict[str, dict]) -> None:
    live, offline = knee_clip_runs["live"], knee_clip_runs["offline"]
    assert live["cleaning"] == "live" and live["filter"]["kind"] == "one_euro"
    np.testing.assert_allclose(live["results"][0]["trials_deg"], offline["results"][0]["trials_deg"], atol=1.0)
    assert abs(live["results"][0]["peak_deg"] - offline["results"][0]["peak_deg"]) < 1.0
