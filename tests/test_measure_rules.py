"""Protocols, trial and hold detection, compensations and view checks on synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fk import as_sequence, front_view, side_view

from romcam.app.measure import side_status, trial_codes
from romcam.errors import UsageError
from romcam.protocols import builtin_protocols, get_protocol, parse_protocol
from romcam.results import FlagCode, SideStatus, TrialResult, ViewCheck
from romcam.rules.compensation import compensation_value
from romcam.rules.trials import Hold, Trial, TrialDetector, detect_trials, find_best_hold
from romcam.rules.view import VIEW_NAMES, classify_view, dominant_view, dominant_view_within, view_code_masks

FPS = 30.0


def _trials_series(
    peaks: list[float], hold_s: float = 1.5, noise: float = 0.4, seed: int = 0, baseline: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """Rest 1 s, then per trial: rise 1 s, hold, fall 1 s, rest 1 s (known peaks and holds)."""
    parts = [np.full(int(FPS), baseline)]
    for p in peaks:
        rise = np.linspace(baseline, p, int(FPS), endpoint=False)
        parts += [rise, np.full(int(hold_s * FPS), p), rise[::-1], np.full(int(FPS), baseline)]
    v = np.concatenate(parts)
    v = v + np.random.default_rng(seed).normal(0, noise, v.size)
    return v, np.arange(v.size) / FPS


def test_three_trials_found_with_their_held_peaks() -> None:
    values, t = _trials_series([100.0, 112.0, 95.0])
    trials = detect_trials(values, t)
    assert len(trials) == 3
    np.testing.assert_allclose([tr.peak_deg for tr in trials], [100.0, 112.0, 95.0], atol=0.5)
    for tr in trials:
        assert tr.hold is not None and tr.hold.duration_s >= 1.0 and tr.hold.sd_deg < 1.0
    assert trials[1].start_s > trials[0].end_s


def test_jitter_around_the_threshold_does_not_split_a_trial() -> None:
    t = np.arange(0, 6, 1 / FPS)
    values = np.where((t > 1) & (t < 5), 22.0 + 4.0 * np.sin(2 * np.pi * 3 * t), 0.0)  # crosses 20 many times
    assert len(detect_trials(values, t, start_excursion_deg=20.0)) == 1


def test_no_hold_when_the_angle_never_settles() -> None:
    t = np.arange(0, 5, 1 / FPS)
    values = np.where((t > 1) & (t < 4), 60 + 30 * np.sin(2 * np.pi * 0.8 * t), 0.0)
    trials = detect_trials(values, t)
    assert len(trials) == 1 and trials[0].hold is None
    assert trials[0].peak_deg == trials[0].max_deg


def test_live_hold_event_fires_once_per_trial_after_the_minimum_time() -> None:
    values, t = _trials_series([90.0, 90.0], noise=0.2)
    det = TrialDetector(hold_min_s=1.0)
    holds = [ti for v, ti in zip(values, t, strict=True) for e in det.step(float(v), float(ti)) if e.kind == "hold"]
    assert len(holds) == 2
    # trial 1 reaches 90 at 2.0 s; the hold is announced 1 s later, give or take the tolerance band
    assert 2.5 < holds[0] < 3.3


@pytest.mark.parametrize("rise_s", [1.0, 3.0, 6.0])
def test_a_slow_controlled_raise_is_a_trial(rise_s: float) -> None:
    """A raise to 150 deg over 3 or 6 s (25-50 deg/s, as a therapist asks for) is one trial with its held peak;
    the resting level must not rise along with it (before: no trial at all from 3 s on)."""
    t = np.arange(0, 8 + 2 * rise_s, 1 / 30)
    v = np.interp(t, [0, 2, 2 + rise_s, 4 + rise_s, 4 + 2 * rise_s, t[-1]], [0, 0, 150, 150, 0, 0])
    v = v + np.random.default_rng(1).normal(0, 0.7, t.size)  # landmark jitter, within the hold tolerance
    [trial] = detect_trials(v, t)
    assert trial.hold is not None and abs(trial.peak_deg - 150) < 1.0
    assert trial.baseline_deg == pytest.approx(0.0, abs=2.0)
    assert 2.0 < trial.start_s < 2.0 + 0.25 * rise_s  # started at the 20 deg excursion, not later


def test_a_limb_lost_on_the_way_down_ends_its_trial() -> None:
    """Two raises; the arm is not seen from the way down of the first to the way up of the second (2.7 s): two
    trials, the first ending where it was last seen (before: one trial spanning both)."""
    t = np.arange(0, 12, 1 / 30)
    v = 90 * np.exp(-0.5 * ((t - 3.0) / 0.8) ** 2) + 90 * np.exp(-0.5 * ((t - 8.0) / 0.8) ** 2)
    v[(t > 3.8) & (t < 6.5)] = np.nan
    first, second = detect_trials(v, t)
    assert first.end_s == pytest.approx(3.8, abs=0.05) and first.max_deg == pytest.approx(90, abs=0.5)
    assert second.start_s > 6.5 and second.max_deg == pytest.approx(90, abs=0.5)


def test_gap_verdicts_shared_by_reps_and_trials() -> None:
    from romcam.rules.excursions import GapVerdict, gap_verdict

    # active above 50 deg, hold tolerance 3 deg: the way back starts max(6, (90 - 50) / 4) = 10 deg below the peak
    assert gap_verdict(0.4, 60, 90, 50, 3) is GapVerdict.BRIDGE
    assert gap_verdict(1.0, 79, 90, 50, 3) is GapVerdict.END  # last seen 11 deg below the peak
    assert gap_verdict(1.0, 81, 90, 50, 3) is GapVerdict.KEEP_OPEN  # lost at end range
    assert gap_verdict(3.5, 81, 90, 50, 3) is GapVerdict.VOID


def test_find_best_hold_prefers_the_higher_plateau() -> None:
    t = np.arange(0, 4, 1 / FPS)
    v = np.where(t < 2, 80.0, 90.0)
    hold = find_best_hold(t, v, tolerance_deg=2.0, min_s=1.0)
    assert hold is not None and hold.mean_deg == pytest.approx(90.0)


def test_extension_protocols_measure_the_negative_angle() -> None:
    # knee extension (direction -1): seated at 90 flexion, straightening to 6, 4 and 8 flexion
    values, t = _trials_series([-6.0, -4.0, -8.0], baseline=-90.0)  # the value is -flexion
    trials = detect_trials(values, t)
    np.testing.assert_allclose([-tr.peak_deg for tr in trials], [6.0, 4.0, 8.0], atol=0.6)


@pytest.mark.parametrize(
    ("measure", "window", "start", "expected"),
    [
        ("above", [10.0, 25.0, 12.0], 0.0, 25.0),
        ("below", [-3.0, -12.0], 0.0, 12.0),
        ("rise", [14.0, 18.0], 5.0, 13.0),
        ("drop", [0.30, 0.21], 0.32, 0.11),
        ("abs_change", [-8.0, 3.0], 2.0, 10.0),
    ],
)
def test_compensation_values(measure: str, window: list[float], start: float, expected: float) -> None:
    assert compensation_value(measure, np.array(window), start) == pytest.approx(expected)


def test_compensation_value_is_nan_without_data() -> None:
    assert np.isnan(compensation_value("above", np.array([np.nan]), 0.0))


def test_every_shipped_protocol_loads_and_names_a_registry_angle() -> None:
    from romcam.kinematics.angles import REGISTRY

    protocols = builtin_protocols()
    assert {
        "shoulder_flexion",
        "shoulder_extension",
        "shoulder_abduction",
        "elbow_flexion",
        "hip_flexion",
        "knee_flexion",
        "knee_flexion_seated",
        "knee_flexion_supine",
        "knee_extension",
        "ankle_dorsiflexion",
    } <= set(protocols)
    for p in protocols.values():
        assert p.angle_name("left") in REGISTRY and p.trials == 3
        assert "AAOS" in p.normal_source
        for c in p.compensations:
            metric = c.angle.format(side="left")
            assert metric in REGISTRY or metric == "left_ear_shoulder_distance"


def test_unknown_protocol_and_unknown_key_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="valid protocols: ankle_dorsiflexion"):
        get_protocol("shoulder_rotation")
    data = {
        "title": "x",
        "angle": "knee_flexion",
        "view": "side",
        "start_position": "",
        "instruction": "",
        "normal_deg": 1.0,
        "normal_source": "",
        "change_deg": 1.0,
        "change_source": "",
        "hold_time": 2,
    }
    with pytest.raises(UsageError, match="unknown key hold_time; valid keys: angle, change_deg"):
        parse_protocol("x", data)


def test_view_classification() -> None:
    side = as_sequence([side_view(1, knee_flexion=(30.0, 0.0)), side_view(-1)])
    front = as_sequence([front_view(), front_view(shoulder_abduction=(90.0, 0.0))])
    assert list(classify_view(side)) == ["side", "side"]
    assert list(classify_view(front)) == ["front", "front"]
    assert dominant_view(np.array(["front", "front", "side", ""], dtype=object)) == ("front", pytest.approx(2 / 3))


def test_dominant_view_within_frames_by_view_code() -> None:
    """The codes' masks answer as ``dominant_view`` of the same frames by name, frame subsets and ties included."""
    rng = np.random.default_rng(3)
    codes = rng.integers(0, len(VIEW_NAMES), 200).astype(np.int8)
    masks = view_code_masks(codes)
    names = np.array(VIEW_NAMES, dtype=object)[codes]
    for within in (np.ones(200, bool), rng.random(200) < 0.3, codes == 0, np.isin(codes, [1, 3])):
        view, share = dominant_view_within(masks, within)
        expected = dominant_view(names[within])
        assert (view, share) == (expected[0], pytest.approx(expected[1]))
    tie = np.array([1, 3, 0], dtype=np.int8)  # one front, one oblique: the tie goes to VIEWS' order
    assert dominant_view_within(view_code_masks(tie), np.ones(3, bool)) == ("front", 0.5)


def _view(seen: str, needed: str = "side", near: str = "left") -> ViewCheck:
    return ViewCheck(seen, 1.0 if seen == needed else 0.2, needed, near if seen == "side" else "")


def _trial(codes: tuple[FlagCode, ...] = ()) -> TrialResult:
    hold = Hold(1.0, 2.0, 100.0, 0.5)
    return TrialResult(Trial(1, 0.5, 2.5, 0.0, 101.0, 1.5, hold), codes, ())


def test_a_side_gets_a_number_only_from_the_right_view_near_side_and_clean_peak_frames() -> None:
    clean, flagged = _trial(), _trial((FlagCode.FORESHORTENED,))
    assert side_status(_view("side"), [flagged, clean], "left") == SideStatus.MEASURED
    assert side_status(_view("side"), [flagged], "left") == SideStatus.NOT_MEASURABLE
    assert side_status(_view("front"), [clean], "left") == SideStatus.WRONG_VIEW
    assert side_status(_view("side", near="right"), [clean], "left") == SideStatus.FAR_SIDE
    assert side_status(_view("side", near="right"), [], "left") == SideStatus.FAR_SIDE
    assert side_status(_view("side"), [], "left") == SideStatus.NO_TRIAL


def test_trial_codes_are_those_of_most_peak_frames_or_of_the_largest_value_without_a_hold() -> None:
    t = np.arange(90) / 30.0
    flags = {str(c): np.zeros(90, dtype=bool) for c in FlagCode}
    held = Trial(1, 0.2, 2.8, 0.0, 101.0, 1.5, Hold(1.0, 2.0, 100.0, 0.5))
    flags["jump"][45] = True  # one frame of a 1 s hold: not the hold's problem
    assert trial_codes(flags, t, held) == ()
    flags["far_side"][25:65] = True  # most of the hold
    assert trial_codes(flags, t, held) == (FlagCode.FAR_SIDE,)
    no_hold = Trial(1, 0.2, 2.8, 0.0, 101.0, 1.5, None)  # the value is the frame at 1.5 s
    assert FlagCode.JUMP in trial_codes(flags, t, no_hold)


def test_side_view_hint_turns_the_patient_round_once_the_first_side_is_done() -> None:
    from romcam.output.overlay import side_view_hint

    assert side_view_hint(["left", "right"], [1, 0], 3) == "Turn your left side to the camera."
    assert side_view_hint(["left", "right"], [3, 0], 3) == "Now turn round: turn your right side to the camera."
    assert side_view_hint(["right"], [3], 3) == "Turn your right side to the camera."


def test_report_words_say_how_far_to_trust_a_value_and_each_flags_threshold() -> None:
    from romcam.output.report import _flag_legend, local_time_words
    from romcam.output.words import trust_words
    from romcam.rules.accuracy import END_RANGE_LOW_DEG

    knee = {"peak_deg": 96.3, "angle": "left_knee_flexion", "direction": 1, "confidence": {"grade": "B"}}
    for variant in ("full", "heavy"):  # each model's own measured bias
        words = trust_words(knee, variant)
        low = END_RANGE_LOW_DEG[variant]["knee_flexion"]
        assert "within 10° on 95 %" in words and f"{low[0]:.0f}–{low[1]:.0f}° low" in words
    assert "low" not in trust_words(knee, "lite")  # never measured: no bias claimed
    assert "not a value to record" in trust_words({**knee, "confidence": {"grade": "D"}}, "full")
    assert trust_words({**knee, "peak_deg": None}, "full") == "no value reported"
    legend = _flag_legend([{"trials": [{"flag_codes": ["foreshortened", "jump"]}]}])
    assert "80%" in legend and "10°" in legend  # FORESHORTENED_RATIO and JUMP_DEG
    assert local_time_words("2026-01-05T09:00:00+00:00").startswith("05 Jan 2026")  # from UTC-9 to UTC+14
    assert local_time_words("2026-01-05T09:00:00") == local_time_words("2026-01-05T09:00:00+00:00")  # stored as UTC


def test_live_measure_waits_for_the_patient_to_turn_the_other_side_to_the_camera(tmp_path: Path) -> None:
    """A side-view protocol with both sides: while the right side faces the camera, the left knee's movements are
    not trials (they are seen through the body); once the patient turns round, they are."""
    from fk import side_view

    from romcam.app.measure import FrameLoop, MeasureConfig
    from romcam.protocols import get_protocol
    from romcam.types import PoseFrame

    config = MeasureConfig(protocol=get_protocol("knee_flexion"), out_dir=tmp_path, headless=True, mode="live")
    loop = FrameLoop(config, keep_poses=False)

    class Frame:
        def __init__(self, t_s: float) -> None:
            self.t_s, self.bgr = t_s, np.zeros((1000, 1000, 3), np.uint8)

    def bends(t: float) -> float:  # three held bends to 100 deg in 12 s
        u = t % 4.0
        return 100.0 * float(np.clip(min(u - 0.5, 3.0 - u), 0.0, 1.0))

    t = 0.0
    for facing in (1, -1):  # right side toward the camera, then turned round: left side toward it
        for _ in range(12 * 30):
            xy = side_view(facing=facing, knee_flexion=(bends(t % 12.0), 0.0))
            loop.step(Frame(t), PoseFrame(xy, np.zeros((33, 3)), np.ones(33)))
            t += 1 / 30
    left = loop.tracks["left"].detector.trials
    assert len(left) == 3 and all(tr.start_s >= 12.0 for tr in left)  # only after turning round
    assert all(tr.peak_deg == pytest.approx(100.0, abs=3.0) for tr in left)
    assert loop.tracks["right"].detector.trials == []


def test_compensation_words_speak_each_metrics_unit() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from romcam.output.words import _compensation_words
    from romcam.rules.compensation import CompensationCheck

    checks = (
        CompensationCheck("shoulder hiking", "left_ear_shoulder_distance", 0.094, 0.08, True, "Keep it down."),
        CompensationCheck("lateral trunk lean", "trunk_lateral_lean", 12.4, 10.0, True, "Stay upright."),
        CompensationCheck("bent elbow", "left_elbow_flexion", 5.0, 20.0, False, "Straight."),
    )
    side = SimpleNamespace(trials=[SimpleNamespace(compensations=checks)])
    assert _compensation_words(cast(Any, side)) == [
        "shoulder hiking: up to 0.09 trunk lengths (threshold 0.08 trunk lengths)",
        "lateral trunk lean: up to 12° (threshold 10°)",
    ]
