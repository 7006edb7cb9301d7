"""Rep counting, holds, cues and form rules on synthetic series and synthetic poses (no model)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fk import front_view, side_view

from romcam.app.exercise import ExerciseConfig, ExerciseSession, live_faults
from romcam.errors import UsageError
from romcam.exercises import Program, ProgramItem, builtin_exercises, get_exercise, load_program
from romcam.landmarks import Landmark as L
from romcam.output.words import exercise_record
from romcam.rules.metrics import frame_metrics
from romcam.rules.reps import CueManager, RepCounter
from romcam.types import PoseFrame

FPS = 30.0


def _reps_series(peaks: list[float], jitter: float = 0.0, rest: float = 5.0, hold_s: float = 0.0) -> np.ndarray:
    parts = [np.full(15, rest)]
    for p in peaks:
        up = np.linspace(rest, p, 30)
        parts += [up, np.full(int(hold_s * FPS) + 1, p), up[::-1], np.full(15, rest)]
    v = np.concatenate(parts)
    return v + jitter * np.sin(np.arange(v.size) * 2.7)


def _count(counter: RepCounter, values: np.ndarray) -> RepCounter:
    for i, v in enumerate(values):
        counter.step(float(v), i / FPS)
    return counter


def test_reps_counted_with_their_peaks() -> None:
    counter = _count(RepCounter(60.0, 30.0), _reps_series([95.0, 110.0, 88.0]))
    assert [round(r.peak_deg, 6) for r in counter.reps] == [95.0, 110.0, 88.0]
    assert all(r.duration_s > 1.0 for r in counter.reps)


def test_jitter_around_a_threshold_never_double_counts() -> None:
    t = np.arange(0, 4, 1 / FPS)
    values = 60.0 + 8.0 * np.sin(2 * np.pi * 4 * t)  # crosses 60 about 30 times, never goes below 30
    assert _count(RepCounter(60.0, 30.0), values).reps == []
    jittery = _reps_series([90.0, 90.0], jitter=6.0)
    assert len(_count(RepCounter(60.0, 30.0), jittery).reps) == 2


def test_shallow_movements_are_not_reps() -> None:
    assert _count(RepCounter(60.0, 30.0), _reps_series([50.0, 55.0])).reps == []


def test_hold_time_at_target() -> None:
    counter = _count(RepCounter(20.0, 10.0, target=45.0, hold_tolerance=5.0), _reps_series([45.0], hold_s=2.0))
    assert counter.reps[0].hold_s == pytest.approx(2.0 + 2 * 5 / (40 / 29) / FPS, abs=0.15)


def test_direction_minus_one_reports_angles() -> None:
    # seated knee extension: flexion 90 -> 5; value = -flexion
    counter = _count(RepCounter(-30.0, -60.0, direction=-1), -_reps_series([5.0], rest=90.0)[::1] * 1.0)
    assert len(counter.reps) == 1 and counter.reps[0].peak_deg == pytest.approx(5.0)


def test_cues_one_at_a_time_with_cooldown() -> None:
    cues = CueManager(show_s=3.0, cooldown_s=8.0)
    assert cues.step(["chest up", "knees out"], 0.0) == "chest up"
    assert cues.step(["knees out"], 1.0) == "chest up"  # still showing
    assert cues.step(["chest up", "knees out"], 3.5) == "knees out"  # chest up is cooling down
    assert cues.step(["chest up"], 7.0) is None
    assert cues.step(["chest up"], 8.5) == "chest up"


# --- form rules on synthetic poses --------------------------------------------------------------


def test_squat_trunk_lean_fires_and_stays_silent_when_upright() -> None:
    squat = get_exercise("squat")
    leaning = frame_metrics(side_view(1, trunk_flexion=55.0, hip_flexion=(100.0, 100.0), knee_flexion=(95.0, 95.0)))
    upright = frame_metrics(side_view(1, trunk_flexion=20.0, hip_flexion=(80.0, 80.0), knee_flexion=(95.0, 95.0)))
    assert [r.name for r in live_faults(squat, leaning, leaning, "side")] == ["trunk lean"]
    assert live_faults(squat, upright, upright, "side") == []


def test_knee_valgus_is_checked_only_in_a_front_view() -> None:
    squat = get_exercise("squat")
    valgus = frame_metrics(front_view(knee_valgus=(25.0, 24.0)))
    assert [r.name for r in live_faults(squat, valgus, valgus, "front")] == ["knee valgus"]
    assert live_faults(squat, valgus, valgus, "side") == []
    straight = frame_metrics(front_view(knee_valgus=(4.0, 3.0)))
    assert live_faults(squat, straight, straight, "front") == []


def test_arm_raise_bent_elbow_and_trunk_lean() -> None:
    raise_ = get_exercise("shoulder_abduction_raise")
    start = frame_metrics(front_view())
    bent = frame_metrics(front_view(shoulder_abduction=(90.0, 90.0), elbow_flexion=(40.0, 0.0)))
    lean = frame_metrics(front_view(trunk_lateral_lean=14.0, shoulder_abduction=(90.0, 90.0)))
    clean = frame_metrics(front_view(trunk_lateral_lean=2.0, shoulder_abduction=(90.0, 90.0)))
    assert [r.name for r in live_faults(raise_, bent, start, "front")] == ["bent elbow"]
    assert [r.name for r in live_faults(raise_, lean, start, "front")] == ["lateral trunk lean"]
    assert live_faults(raise_, clean, start, "front") == []


def test_straight_leg_raise_knee_extension_lag() -> None:
    slr = get_exercise("straight_leg_raise")
    lag = frame_metrics(side_view(1, hip_flexion=(45.0, 0.0), knee_flexion=(15.0, 0.0)))
    straight = frame_metrics(side_view(1, hip_flexion=(45.0, 0.0), knee_flexion=(3.0, 0.0)))
    assert [r.name for r in live_faults(slr, lag, lag, "side")] == ["knee extension lag"]
    assert live_faults(slr, straight, straight, "side") == []


def _pose(xy: np.ndarray) -> PoseFrame:
    return PoseFrame(xy, np.zeros((33, 3)), np.ones(33))


def test_session_counts_sets_rests_and_flags_shallow_reps(tmp_path: Path) -> None:
    squat = get_exercise("squat")
    program = Program("test", (ProgramItem(squat, sets=2, reps=2, rest_s=2.0),))
    session = ExerciseSession(ExerciseConfig(program=program, out_dir=tmp_path))
    knees = np.concatenate([_reps_series([95.0, 65.0]), np.full(70, 5.0), _reps_series([100.0, 98.0])])
    for i, k in enumerate(knees):
        session.step(
            _pose(side_view(1, trunk_flexion=15.0, hip_flexion=(k * 0.8, k * 0.8), knee_flexion=(k, k))), i / FPS
        )
    [result] = session.summary()
    assert len(result.reps) == 4 and result.reps_per_set == {1: 2, 2: 2}
    peaks = [r.rep.peak_deg for r in result.reps]
    assert peaks[0] == pytest.approx(95.0, abs=1.0) and peaks[1] < 70
    assert result.reps[1].rep.faults == ("shallow squat",) and not result.reps[1].reached_target
    assert result.reps[0].rep.faults == () and all(r.rep.trusted for r in result.reps)
    record = exercise_record(result)
    assert record["reps"] == 4 and [s["reps"] for s in record["sets"]] == [2, 2] and record["reps_trusted"] == 4
    assert session.done


def test_exercise_library_and_programs(tmp_path: Path) -> None:
    names = set(builtin_exercises())
    assert {
        "squat",
        "forward_lunge",
        "shoulder_abduction_raise",
        "shoulder_flexion_raise",
        "seated_knee_extension",
        "sit_to_stand",
        "straight_leg_raise",
        "glute_bridge",
        "heel_raise",
        "standing_hip_abduction",
    } <= names
    root = Path(__file__).resolve().parents[1]
    for path in (root / "samples" / "programs").glob("*.toml"):
        program = load_program(path)
        assert program.items and all(item.sets >= 1 for item in program.items)
    bad = tmp_path / "p.toml"
    bad.write_text('title = "x"\n[[exercise]]\nname = "squat"\nrepetitions = 5\n')
    with pytest.raises(UsageError, match="unknown key repetitions; valid keys: hold_s, name, reps"):
        load_program(bad)
    with pytest.raises(UsageError, match="valid exercises: forward_lunge"):
        get_exercise("burpee")
    assert math.isfinite(get_exercise("squat").target_deg)


def test_a_two_frame_glitch_is_not_a_rep() -> None:
    values = np.full(60, 10.0)
    values[30:33] = 80.0  # 0.1 s spike, as when a landmark jumps for a frame or two
    assert _count(RepCounter(60.0, 30.0), values).reps == []


def test_a_stream_that_starts_in_the_active_phase_counts_that_rep_with_a_doubt() -> None:
    values = _reps_series([95.0, 100.0])[38:]  # starts above the active threshold, on the way up
    counter = _count(RepCounter(60.0, 30.0), values)
    assert [round(r.peak_deg) for r in counter.reps] == [95, 100]
    assert counter.reps[0].doubts == ("start_unseen",) and counter.reps[1].trusted


def test_a_long_gap_ends_the_open_rep_and_the_next_raise_is_a_new_rep() -> None:
    values = _reps_series([95.0, 100.0, 90.0])
    down = int(np.argmax(values[:80]))
    values[down + 10 : down + 60] = np.nan  # from 20° below the first peak: its descent, rest, next rise unseen
    counter = _count(RepCounter(60.0, 30.0), values)
    assert len(counter.reps) == 3  # before: the first and second merged into one
    assert counter.reps[0].doubts == ("gap",) and not counter.reps[0].trusted
    assert counter.reps[1].trusted and counter.reps[2].trusted


def test_a_short_gap_is_bridged() -> None:
    values = _reps_series([95.0, 100.0])
    values[40:48] = np.nan  # 0.27 s near the first peak
    counter = _count(RepCounter(60.0, 30.0), values)
    assert len(counter.reps) == 2 and all(r.trusted for r in counter.reps)


def test_a_rep_open_at_the_end_counts_when_it_reached_the_target() -> None:
    # sit to stand on -knee flexion: seated (-90) -> standing (-5), and the recording ends standing
    values = -np.concatenate([np.full(20, 90.0), np.linspace(90.0, 5.0, 30), np.full(20, 5.0)])
    counter = _count(RepCounter(-30.0, -65.0, target=-15.0, direction=-1, count_open_at_end=True), values)
    assert counter.reps == []
    rep = counter.finish(len(values) / FPS)
    assert rep is not None and rep.doubts == ("end_of_recording",) and rep.peak_deg == pytest.approx(5.0)
    short = _count(RepCounter(-30.0, -65.0, target=-15.0, direction=-1, count_open_at_end=True), values[:40])
    assert short.finish(40 / FPS) is None  # only halfway up
    lunge = _count(RepCounter(-30.0, -65.0, target=-15.0, direction=-1), values)  # a rep needs its return
    assert lunge.finish(len(values) / FPS) is None


def test_doubts_at_the_peak_are_recorded_on_the_rep() -> None:
    counter = RepCounter(60.0, 30.0)
    values = _reps_series([95.0])
    peak = int(np.argmax(values))
    for i, v in enumerate(values):
        counter.step(float(v), i / FPS, ("view",) if i == peak else ())
    assert [r.doubts for r in counter.reps] == [("view",)]


def test_knee_valgus_is_not_judged_on_a_leg_pointing_away_from_the_camera() -> None:
    squat = get_exercise("squat")
    xy = front_view(knee_valgus=(25.0, 24.0))
    assert [r.name for r in live_faults(squat, frame_metrics(xy), frame_metrics(xy), "front", xy)] == ["knee valgus"]
    for side in ("LEFT", "RIGHT"):  # a lunge's back shank, pointing backward: a short stub in the image
        knee, ankle = int(L[f"{side}_KNEE"]), int(L[f"{side}_ANKLE"])
        xy[ankle] = xy[knee] + 0.25 * (xy[ankle] - xy[knee])
    assert live_faults(squat, frame_metrics(xy), frame_metrics(xy), "front", xy) == []


def test_a_long_gap_at_the_peak_keeps_the_rep_with_a_doubt_and_a_very_long_one_voids_it() -> None:
    values = _reps_series([95.0, 100.0], hold_s=2.0)
    first_peak = int(np.argmax(values[:100]))
    held = values.copy()
    held[first_peak + 5 : first_peak + 35] = np.nan  # 1 s of the hold unseen
    counter = _count(RepCounter(60.0, 30.0), held)
    assert len(counter.reps) == 2 and counter.reps[0].doubts == ("gap",) and counter.reps[1].trusted
    lost = np.concatenate([values[: first_peak + 5], np.full(120, np.nan), values[first_peak + 5 :]])
    counter = _count(RepCounter(60.0, 30.0), lost)  # 4 s unseen at the first peak: what was seen before is void,
    assert [r.doubts for r in counter.reps] == [("start_unseen",), ()]  # what follows counts, its start unseen


def test_targets_of_exercises_measured_on_the_negative_angle_are_on_the_value() -> None:
    """direction = -1: the TOML's target is on the value (-15 on knee flexion = within 15 deg of straight), so a
    stand to 5 deg reaches it, a knee held at 8 deg holds at a -10 target, and 14 deg of plantarflexion does not
    reach a 20 deg heel raise."""
    from romcam.app.exercise import _new_state
    from romcam.exercises import ProgramItem, get_exercise

    def run(name: str, angles: np.ndarray) -> tuple[list[Any], Any]:
        e = get_exercise(name)
        state = _new_state(ProgramItem(e))
        for i, a in enumerate(angles):
            state.counter.step(e.direction * a, i / 30)
        state.counter.finish(len(angles) / 30)
        return state.counter.reps, e

    down, up = np.linspace(90, 5, 40), np.linspace(5, 90, 40)
    stands, e = run(
        "sit_to_stand", np.r_[np.full(30, 90.0), down, np.full(30, 5.0), up, np.full(30, 90.0), down, np.full(20, 5.0)]
    )
    assert len(stands) == 2  # the last stand, ending the recording standing, counts (count_at = "target")
    assert e.target_angle_deg == 15.0
    held, _ = run(
        "seated_knee_extension",
        np.r_[np.full(30, 90.0), np.linspace(90, 8, 40), np.full(90, 8.0), np.linspace(8, 90, 40), np.full(30, 90.0)],
    )
    assert len(held) == 1 and held[0].hold_s >= 2.9
    low, e = run(
        "heel_raise",
        np.r_[np.full(30, 0.0), np.linspace(0, -14, 20), np.full(30, -14.0), np.linspace(-14, 0, 20), np.full(30, 0.0)],
    )
    assert len(low) == 1 and low[0].hold_s == 0.0 and not e.direction * low[0].peak_deg >= e.target_deg
    bottom, top = e.gauge_range()
    assert bottom <= e.rest_below_deg < e.active_above_deg < e.target_deg < top
