"""Result files as a user finds them: no earlier run's files beside a new run's, whole files only (a full
disk is one line and no half-written file), a batch that locks its folder, redoes incomplete clips, names the
stills it skips and redoes kinematics without deleting the model's outputs; Ctrl-C in measure."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import OUTSIDE, SAMPLES, clip_path, read_frames, require, resolved_model, run_cli, write_video

from romcam.errors import RomcamError
from romcam.fileio import atomic_path, write_text_atomic
from romcam.output.overlay import AnnotatedVideoWriter
from romcam.rules.trials import TrialDetector


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# --- whole files --------------------------------------------------------------------------------


def test_a_failed_write_keeps_the_earlier_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    write_text_atomic(target, '{"run": 1}\n')
    with pytest.raises(ZeroDivisionError), atomic_path(target) as tmp:
        tmp.write_text('{"run": 2, "half')
        _ = 1 / 0
    assert target.read_text() == '{"run": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_disk_full_is_one_line_and_no_half_file(tiny_disk: Path) -> None:
    out = tiny_disk / "out"
    result = run_cli("analyze", str(require(SAMPLES / "rendered_side_left.mp4")), "--out", str(out), "--no-video")
    assert result.returncode == 1
    assert "disk full while writing" in _one_line(result)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left
    for name in ("landmarks.npz", "summary.json", "angles.csv"):  # what exists is whole
        if (out / name).exists():
            assert name != "landmarks.npz" or np.load(out / name)["xy_px"].shape[1] == 33


def test_video_that_does_not_fit_is_an_error_not_an_unplayable_file(tiny_disk: Path) -> None:
    path = tiny_disk / "annotated.mp4"
    writer = AnnotatedVideoWriter(path, 30.0, 640, 480)
    rng = np.random.default_rng(0)
    for _ in range(60):  # noise does not compress: far more than 128 KiB
        writer.write(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
    with pytest.raises(RomcamError, match="annotated.mp4"):
        writer.close()
    assert list(tiny_disk.iterdir()) == []


@pytest.mark.parametrize("pyav", [True, False])
def test_annotated_video_is_h264_with_pyav_else_mpeg4_with_a_warning(
    tmp_path: Path, pyav: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import cv2

    pytest.importorskip("av") if pyav else monkeypatch.setitem(sys.modules, "av", None)  # None: "import av" fails
    path = tmp_path / "annotated.mp4"
    writer = AnnotatedVideoWriter(path, 30.0, 321, 241)  # odd sizes: H.264 needs even ones
    frames = [np.full((241, 321, 3), 40 * i, dtype=np.uint8) for i in range(6)]  # grey levels 0..200
    for frame in frames:
        writer.write(frame)
    writer.close()
    assert writer.codec == ("h264" if pyav else "mp4v")
    assert ("MPEG-4 Part 2, which browsers do not play" in caplog.text) is not pyav
    capture = cv2.VideoCapture(str(path))
    read = [capture.read()[1] for _ in range(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))]
    capture.release()
    assert len(read) == len(frames)
    assert read[0].shape == (240, 320, 3)  # even sizes (the last row and column go; OpenCV's MPEG-4 does the same)
    levels = [float(np.median(frame)) for frame in read]
    np.testing.assert_allclose(levels, [40.0 * i for i in range(6)], atol=4.0)  # each frame, in order


def test_analyze_into_a_used_folder_leaves_no_earlier_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in ("angles.csv", "annotated.mp4", "angles.png", "landmarks.npz"):
        (out / name).write_text("from an earlier clip\n")
    (out / "my_notes.txt").write_text("not romcam's\n")
    result = run_cli("analyze", str(clip_path("hard_no_person_02_empty_field_frame.jpg")), "--out", str(out))
    assert result.returncode == 1 and "no person" in _one_line(result)
    assert sorted(p.name for p in out.iterdir()) == ["landmarks.npz", "my_notes.txt", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["status"] == "no_person"
    assert np.load(out / "landmarks.npz")["xy_px"].shape == (1, 33, 2)  # this run's, not the old text


# --- batch ----------------------------------------------------------------------------------------


def _batch(src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("batch", str(src), "--out", str(out), "--workers", "1", *extra)


def _summary_rows(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_second_batch_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    shutil.copy(clip_path("bridge_supine_side_01_backlit.mp4"), src)
    fd = os.open(out / ".romcam-batch.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a batch running into out
    try:
        result = _batch(src, out)
    finally:
        os.close(fd)
    assert result.returncode == 1 and "another romcam batch" in _one_line(result)


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("batch")
    src, out = base / "in", base / "out"
    src.mkdir()
    shutil.copy(clip_path("bridge_supine_side_01_backlit.mp4"), src)
    shutil.copy(clip_path("hard_no_person_02_empty_field_frame.jpg"), src / "still.jpg")
    return src, out, _batch(src, out)


def test_batch_names_the_stills_it_does_not_analyse(batch_run: tuple[Path, Path, subprocess.CompletedProcess]) -> None:
    _, out, first = batch_run
    assert first.returncode == 0, first.stderr
    assert "1 done" in first.stdout and "still image(s) (still.jpg)" in first.stdout
    assert (out / "bridge_supine_side_01_backlit" / "annotated.mp4").stat().st_size > 10_000


def test_batch_redoes_a_clip_whose_outputs_are_incomplete(
    batch_run: tuple[Path, Path, subprocess.CompletedProcess],
) -> None:
    src, out, _ = batch_run
    reference = _summary_rows(out)
    (out / "bridge_supine_side_01_backlit" / "summary.json").unlink()
    again = _batch(src, out)
    assert again.returncode == 0, again.stderr
    assert "1 done, 0 skipped" in again.stdout
    assert _summary_rows(out) == reference
    untouched = _batch(src, out)
    assert "0 done, 1 skipped" in untouched.stdout


def test_batch_from_landmarks_deletes_nothing_and_forces_no_redo(
    batch_run: tuple[Path, Path, subprocess.CompletedProcess],
) -> None:
    src, out, _ = batch_run
    folder = out / "bridge_supine_side_01_backlit"
    video = (folder / "annotated.mp4").read_bytes()
    redo = _batch(src, out, "--from-landmarks")
    assert redo.returncode == 0, redo.stderr
    assert (folder / "annotated.mp4").read_bytes() == video
    assert {"landmarks.npz", "summary.json", "angles.csv", "angles.mot", "landmarks.trc"} <= {
        p.name for p in folder.iterdir()
    }
    after = _batch(src, out)
    assert "0 done, 1 skipped" in after.stdout, after.stdout


# --- live sessions --------------------------------------------------------------------------------


def test_a_trial_cut_off_by_a_stop_is_marked_incomplete_and_not_counted() -> None:
    detector = TrialDetector(start_excursion_deg=20.0)
    t = 0.0
    for value in [0.0] * 10 + list(np.linspace(0, 100, 20)) + [100.0] * 40 + list(np.linspace(100, 0, 20)):
        detector.step(float(value), t)
        t += 1 / 30
    for value in [0.0] * 10 + list(np.linspace(0, 60, 20)):  # a second raise, stopped half way up
        detector.step(float(value), t)
        t += 1 / 30
    cut = detector.cut_off(t)
    assert [round(tr.peak_deg) for tr in detector.trials] == [100]
    assert cut is not None and not cut.complete and cut.max_deg == pytest.approx(60.0)
    assert len(detector.trials) == 1 and not detector.in_trial


def test_the_rest_window_setting_is_used() -> None:
    detector = TrialDetector(rest_window=3)
    for i, value in enumerate([10.0, 10.0, 10.0, 0.0, 0.0, 0.0]):
        detector.step(value, i / 30)
    assert detector.baseline_deg == 0.0  # only the last three resting samples count


def _looped(clip: Path, times: int, dest: Path) -> Path:
    """The clip played ``times`` times in a row (so a run surely outlasts a few seconds)."""
    return write_video(dest, read_frames(clip) * times)


def test_ctrl_c_in_measure_exits_130_and_keeps_what_was_finished(tmp_path: Path) -> None:
    out = tmp_path / "m"
    source = _looped(require(SAMPLES / "rendered_knee_trials_side_left.mp4"), 8, tmp_path / "long.mp4")
    cmd = [sys.executable, "-m", "romcam", "measure", "--protocol", "knee_flexion", "--side", "left", "--source"]
    cmd += [str(source), "--headless", "--out", str(out)]
    env = {**os.environ, "ROMCAM_MODEL": str(resolved_model())}
    proc = subprocess.Popen(
        cmd, env=env, cwd=OUTSIDE, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(9.0)  # the model is loaded (about 2 s) and frames flow; the 3240 frames take a minute on 2 cores
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    measurement = json.loads((out / "measurement.json").read_text())
    assert measurement["interrupted"] is True
    assert 0 < measurement["frames"]["count"] < 3240  # stopped before the clip's end
    (left,) = measurement["results"]
    cut = left.get("incomplete_trial")
    if cut is not None:
        assert cut["complete"] is False
        assert len(left["trials_deg"]) == cut["index"] - 1  # the cut-off trial is not among the reported ones
        assert any("cut off" in f for f in left["flags"])


@pytest.mark.parametrize("command", [["measure", "--protocol", "knee_flexion"], ["exercise", "--exercise", "squat"]])
@pytest.mark.parametrize("flag", ["--neutral", "--camera-profile"])
def test_live_sessions_refuse_a_missing_profile(command: list[str], flag: str, tmp_path: Path) -> None:
    result = run_cli(*command, "--source", "x.mp4", "--out", str(tmp_path / "o"), flag, str(tmp_path / "nope.toml"))
    assert result.returncode == 2 and "nope.toml" in result.stderr


@pytest.mark.parametrize("command", [["measure", "--protocol", "knee_flexion"], ["exercise", "--exercise", "squat"]])
def test_live_sessions_apply_the_neutral_capture(command: list[str], tmp_path: Path) -> None:
    """A neutral capture made at another frame size is refused on the first frame: the file is really used."""
    neutral = tmp_path / "n.toml"
    made = run_cli("calibrate", "neutral", "--roll-deg", "5", "--size", "100x100", "--out", str(neutral))
    assert made.returncode == 0, made.stderr
    clip = str(require(SAMPLES / "rendered_knee_trials_side_left.mp4"))
    result = run_cli(*command, "--source", clip, "--headless", "--out", str(tmp_path / "o"), "--neutral", str(neutral))
    assert result.returncode == 1 and "the neutral capture was 100x100, this video is 480x640" in _one_line(result)


def test_angles_plot_draws_only_measurable_angles_and_flagged_frames_never_as_data() -> None:
    from romcam.output.plot import MIN_SPAN_DEG, angles_figure

    t = np.arange(300) / 30.0
    knee = 45 + 40 * np.sin(t)
    flagged_half = np.zeros(300, bool)
    flagged_half[100:150] = True
    angles = {
        "left_knee_flexion": knee,
        "right_knee_flexion": knee + 5,
        "left_knee_valgus": 20 * np.sin(3 * t),  # every frame flagged: the view cannot measure it
        "left_hip_abduction": np.full(300, np.nan),  # never seen
        "trunk_flexion": 2 * np.sin(t),  # +-2 deg of noise
    }
    flagged = {"right_knee_flexion": flagged_half, "left_knee_valgus": np.ones(300, bool)}
    fig = angles_figure(t, angles, flagged)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["knee flexion", "trunk flexion"]  # valgus and hip abduction are not drawn as data
    knee_ax, trunk_ax = fig.axes
    colored = [line for line in knee_ax.get_lines() if line.get_color() != "0.72"]
    right = next(line for line in colored if line.get_color() == "tab:orange")
    assert np.isnan(np.asarray(right.get_ydata(), float)[100:150]).all()  # flagged frames are a gap in the data line
    assert any(line.get_color() == "0.72" for line in knee_ax.get_lines())  # and drawn apart, grey
    low, high = trunk_ax.get_ylim()
    assert high - low >= MIN_SPAN_DEG  # 2 deg of noise does not fill the panel
    legend = fig.legends[0]
    assert "left_knee_valgus" in legend.get_title().get_text() and "left_hip_abduction" in legend.get_title().get_text()


@pytest.mark.parametrize(
    ("panels", "missing", "seconds", "title"),
    [(1, 4, 10, "one panel, a long note"), (6, 0, 10, ""), (9, 1, 3600, "an hour, wide tick labels")],
)
def test_angles_plot_layout_keeps_panels_legend_and_notes_apart(
    panels: int, missing: int, seconds: float, title: str
) -> None:
    """The fixed layout (no layout engine): no panel, with its tick labels and titles, overlaps another, the legend
    or the title, and everything lies inside the figure."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    from romcam.kinematics.angles import REGISTRY
    from romcam.output.plot import angles_figure

    names = [n for n in REGISTRY if not n.startswith("right_")]
    t = np.linspace(0.0, seconds, 3000)
    angles = {n: -150 + 300 * np.sin(t / seconds * 20 + i) ** 2 for i, n in enumerate(names[:panels])}
    angles |= {f"right_{n.removeprefix('left_')}": np.full(t.size, np.nan) for n in names[panels : panels + missing]}
    fig = angles_figure(t, angles, {}, title)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    titles = [text for text in fig.findobj(Text) if title and text.get_text() == title]
    artists = [*fig.axes, fig.legends[0], *titles[:1]]
    boxes: list[Bbox] = [box for a in artists if (box := a.get_tightbbox(renderer)) is not None]
    assert len(boxes) == len(artists) == panels + 1 + bool(title)
    width, height = fig.bbox.width, fig.bbox.height
    for i, box in enumerate(boxes):
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, (i, box)
        for other in boxes[i + 1 :]:
            assert not box.overlaps(other), (box, other)


def test_overlay_writes_the_angles_of_the_frames_view_without_overlapping_labels() -> None:
    from romcam.output import overlay

    flags = {
        "left_knee_flexion": {"view": np.array([False, True, False]), "jump": np.array([False, False, True])},
        "left_knee_valgus": {"view": np.array([True, False, False])},
        "trunk_flexion": {},
    }
    assert overlay.frame_labels(flags, 0) == {"left_knee_flexion": "", "trunk_flexion": ""}
    assert overlay.frame_labels(flags, 1) == {"left_knee_valgus": "", "trunk_flexion": ""}
    assert overlay.frame_labels(flags, 2) == {"left_knee_flexion": "jump", "left_knee_valgus": "", "trunk_flexion": ""}
    placed: list[tuple[int, int, int, int]] = []
    for _ in range(6):  # six labels wanting the same spot
        _, dy = overlay._free_spot((100, 100, 180, 120), placed, 22)
        box = (100, 100 + dy, 180, 120 + dy)
        assert not any(box[1] < t[3] and t[1] < box[3] for t in placed)
        placed.append(box)
    image = np.zeros((480, 640, 3), np.uint8)
    xy = np.full((33, 2), np.nan)
    xy[25] = (300, 300)  # left knee
    overlay.draw_angles(image, xy, {"left_knee_flexion": 42.0, "left_knee_valgus": 7.0}, {"left_knee_flexion": "fs"})
    assert image[280:310, 310:470].max() > 0  # the knee's label was written beside it
    assert image[:60, 560:].max() == 0  # no trunk angle was asked for: the corner stays empty


def test_live_panels_draw_beside_the_picture_and_grow_with_the_window() -> None:
    from romcam.app.exercise import _new_state
    from romcam.exercises import ProgramItem, get_exercise
    from romcam.output.panel import Pen, draw_exercise_panel, draw_measure_panel, panel_width_px, with_panel
    from romcam.protocols import get_protocol
    from romcam.rules.trials import TrialDetector

    state = _new_state(ProgramItem(get_exercise("squat"), sets=2, reps=5))
    shown = {"value": 73.0, "name": "left_knee_flexion", "cue": "Keep your chest up.", "t_s": 1.0}
    bottoms = []
    for height in (720, 1440):
        picture = np.random.default_rng(0).integers(0, 255, (height, height * 3 // 4, 3), dtype=np.uint8)
        canvas = with_panel(picture)
        assert canvas.shape[1] == picture.shape[1] + panel_width_px(height)
        draw_exercise_panel(canvas, picture.shape[1], state, shown, done=False)
        assert np.array_equal(canvas[:, : picture.shape[1]], picture)  # nothing drawn over the body
        panel = canvas[:, picture.shape[1] :]
        rows = np.flatnonzero((panel != panel[0, -1]).any(axis=(1, 2)))
        bottoms.append(rows.max())
        pen = Pen(canvas, picture.shape[1])
        pen.line("reps", 3.2)
        assert pen.y >= 70 * height / 720  # the rep count: capitals about 70 px tall on a 720-px window
    assert bottoms[1] == pytest.approx(2 * bottoms[0], rel=0.03)  # the cue box reaches the bottom at both sizes
    protocol = get_protocol("knee_flexion")

    class Track:
        detector = TrialDetector(protocol.start_excursion_deg, protocol.hold_tolerance_deg, protocol.hold_min_s)

    picture = np.zeros((720, 540, 3), np.uint8)
    canvas = with_panel(picture)
    draw_measure_panel(canvas, 540, protocol, {"left_knee_flexion": 92.0}, {"left": Track()}, [], {})
    assert not canvas[:, :540].any() and canvas[:, 540:].std() > 5
