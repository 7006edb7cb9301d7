"""Ctrl-C while the model works: it takes effect once the call returns, and the process does not crash."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from conftest import OUTSIDE, SAMPLES, require, resolved_model

from romcam.pipeline.stream import TimedFrame
from romcam.pose.mediapipe_pose import ctrl_c_held
from romcam.pose.models import LoadedModel
from romcam.types import VideoInfo


def test_ctrl_c_in_the_block_is_held_until_it_ends_then_raised_once() -> None:
    done: list[int] = []
    with pytest.raises(KeyboardInterrupt), ctrl_c_held():
        os.kill(os.getpid(), signal.SIGINT)
        done.extend(range(100_000))  # Python code runs on after the signal: it is only noted
        done.append(-1)
    assert done[-1] == -1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Python's own handler is back


def test_without_ctrl_c_the_block_ends_normally_and_the_handler_is_back() -> None:
    with ctrl_c_held():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler  # held while inside
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_off_the_main_thread_the_block_runs_as_it_is() -> None:
    seen: list[object] = []

    def work() -> None:
        with ctrl_c_held():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]  # nothing installed: a thread cannot set signal handlers


_INTERRUPTED_INFERENCE = textwrap.dedent(
    """
    import os, random, signal, sys, threading
    import cv2
    from pathlib import Path
    from romcam.pose.mediapipe_pose import MediaPipePose

    clip, model, calls = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    capture = cv2.VideoCapture(clip)
    frames = [capture.read()[1] for _ in range(20)]
    random.seed(7)
    raised = 0
    with MediaPipePose(model, num_poses=1) as pose:
        for i in range(calls):
            # Ctrl-C at a random moment of the model's call (a frame takes 10-40 ms here)
            timer = threading.Timer(random.uniform(0.0, 0.03), os.kill, (os.getpid(), signal.SIGINT))
            try:
                timer.start()
                pose.estimate(frames[i % len(frames)], i / 30)
                timer.join()
            except KeyboardInterrupt:
                raised += 1
                timer.join()
        found = pose.estimate(frames[0], calls / 30)  # the model still works afterwards
    print("raised", raised, "found", found is not None)
    """
)


def test_ctrl_c_during_inference_never_crashes_and_is_raised_each_time(tmp_path: Path) -> None:
    """Before the fix, MediaPipe's dispatcher thread went on with a call whose image the interrupted main
    thread had freed: a segmentation fault in one run of 100 calls in six, and in each of four runs of this test."""
    calls = 200
    script = tmp_path / "interrupted.py"
    script.write_text(_INTERRUPTED_INFERENCE)
    clip = require(SAMPLES / "rendered_knee_trials_side_left.mp4")
    cmd = [sys.executable, str(script), str(clip), str(resolved_model()), str(calls)]
    result = subprocess.run(cmd, cwd=OUTSIDE, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r"raised (\d+) found (True|False)", result.stdout)
    assert match is not None, result.stdout
    assert int(match.group(1)) == calls  # every Ctrl-C became exactly one KeyboardInterrupt
    assert match.group(2) == "True"


class _CtrlCAtOnce:
    """A video source whose first read meets Ctrl-C (the user stopped before any frame was decoded)."""

    info = VideoInfo("clip.mp4", "video", 30.0, 640, 480, frame_count_header=90)

    def __iter__(self) -> Iterator[TimedFrame]:
        raise KeyboardInterrupt
        yield  # a generator, as a real source is


class _NoPose:
    def estimate(self, frame_bgr: object, t_s: float) -> None:
        return None


def test_ctrl_c_before_the_first_frame_is_an_interrupt_not_an_unreadable_source(tmp_path: Path) -> None:
    from romcam.app.exercise import ExerciseConfig, exercise_over
    from romcam.app.measure import MeasureConfig, measure_over
    from romcam.exercises import single_exercise_program
    from romcam.protocols import get_protocol

    model = cast(LoadedModel, None)  # never reached: nothing is saved without a frame
    measure = MeasureConfig(get_protocol("knee_flexion"), tmp_path / "m", source="clip.mp4", headless=True)
    with pytest.raises(KeyboardInterrupt):
        measure_over(measure, _CtrlCAtOnce(), _NoPose(), model)
    exercise = ExerciseConfig(single_exercise_program("squat"), tmp_path / "e", source="clip.mp4", headless=True)
    with pytest.raises(KeyboardInterrupt):
        exercise_over(exercise, _CtrlCAtOnce(), _NoPose(), model)
    assert not list(tmp_path.rglob("*.json"))  # nothing was measured, so nothing is saved


def test_ctrl_c_held_through_an_error_is_still_raised() -> None:
    with pytest.raises(KeyboardInterrupt) as raised, ctrl_c_held():
        os.kill(os.getpid(), signal.SIGINT)
        raise ValueError("the block failed after Ctrl-C")
    assert isinstance(raised.value.__context__, ValueError)  # the error is kept as the context
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


_CTRL_C_WHILE_LOADING = textwrap.dedent(
    """
    import runpy, sys

    class CtrlCAtScipy:  # Ctrl-C arrives while the command's modules load (scipy: about 0.3 s of it)
        def find_spec(self, name, path=None, target=None):
            if name == "scipy":
                raise KeyboardInterrupt
            return None

    sys.meta_path.insert(0, CtrlCAtScipy())
    if sys.argv[1] == "command":  # what the installed ``romcam`` script calls
        from importlib.metadata import entry_points
        (script,) = [e for e in entry_points(group="console_scripts") if e.name == "romcam"]
        sys.exit(script.load()())
    runpy.run_module("romcam", run_name="__main__", alter_sys=True)  # python -m romcam
    """
)


@pytest.mark.parametrize("how", ["command", "module"])
def test_ctrl_c_while_the_modules_load_is_one_line_and_exit_130(how: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CTRL_C_WHILE_LOADING, how, "--help"],
        cwd=OUTSIDE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 130, result.stderr[-2000:]
    assert result.stderr == "romcam: interrupted\n"
    assert result.stdout == ""  # --help was never reached


def test_ctrl_c_that_python_wraps_in_another_error_is_still_an_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while a module defines a class (matplotlib's, loaded on the first plot) reaches ``main`` as a
    RuntimeError caused by the KeyboardInterrupt: still one line and exit status 130."""
    import romcam.cli as cli

    class NamedOnCtrlC:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    def loads_a_module(args: object) -> int:
        type("Axes", (), {"set_xticks": NamedOnCtrlC()})  # as a class body runs
        return 0

    monkeypatch.setattr(cli, "_cmd_models", loads_a_module)  # --verbose: stderr as it is
    assert cli.main(["--verbose", "models", "list"]) == 130
    assert capsys.readouterr().err == "romcam: interrupted\n"

    def fails(args: object) -> int:
        raise RuntimeError("a real failure")

    monkeypatch.setattr(cli, "_cmd_models", fails)
    with pytest.raises(RuntimeError, match="a real failure"):  # anything else still shows as it is
        cli.main(["--verbose", "models", "list"])
