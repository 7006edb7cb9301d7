"""One hour of landmarks: kinematics time, the whole ``analyze --from-landmarks`` run, and its peak memory.

Makes one hour of 30 fps landmarks by repeating a rendered clip's (the sample ``rendered_side_left``, analysed
once), then times, in this process, the cleaning + angles + flags (``clean_offline``, in blocks on every core)
with the summary (``build_summary``) after it, then each alone, then the cleaning on one thread for comparison:
the first run (in this process, after the clip's analysis) and the best of three (five for the two together);
then, as a user runs it, ``romcam analyze --from-landmarks`` in a child process (wall time and peak resident
memory). Prints figures and the machine; asserts nothing.

With ``--fresh N`` it also starts N fresh processes one after another, each of which loads the landmarks and times
its first and second run of the cleaning with the summary: what a user's ``romcam analyze --from-landmarks`` pays
once, free of this process's history (median, range, and how many first runs took at most the 0.5 s goal).

With ``--video-minutes N`` it also loops the sample into an N-minute video and a 1-minute one and runs
``romcam analyze --no-video`` on each in a child process: peak resident memory of each and their ratio (an hour
of video at about 80 frames/s takes about 25 minutes).

Usage: python bench/long.py [--minutes 60] [--fresh 10] [--video-minutes 60]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from romcam.app.analyze import AnalyzeConfig, run_analyze
from romcam.kinematics.filters import FilterSettings
from romcam.pipeline.evaluate import build_summary
from romcam.pipeline.offline import available_cores, clean_offline
from romcam.types import PoseSequence

ROOT = Path(__file__).resolve().parents[1]
FPS = 30.0


def hour_of_landmarks(folder: Path, minutes: float) -> Path:
    """``minutes`` of landmarks at 30 fps, tiled from the sample clip's; returns the .npz path."""
    clip = folder / "clip"
    run_analyze(AnalyzeConfig(out_dir=clip, source=str(ROOT / "samples" / "rendered_side_left.mp4"), write_video=False))
    one = PoseSequence.load_npz(clip / "landmarks.npz")
    n = int(minutes * 60 * FPS)
    reps = n // len(one) + 1
    long = PoseSequence(
        np.tile(one.xy_px, (reps, 1, 1))[:n],
        np.tile(one.world_m, (reps, 1, 1))[:n],
        np.tile(one.visibility, (reps, 1))[:n],
        np.arange(n) / FPS,
        one.width_px,
        one.height_px,
    )
    path = folder / "long.npz"
    long.save_npz(path)
    return path


def looped_video(path: Path, minutes: float) -> Path:
    """The sample clip played forward and backward (no jump at the seams) until ``minutes`` of 30 fps video."""
    import cv2

    cap = cv2.VideoCapture(str(ROOT / "samples" / "rendered_side_left.mp4"))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    cycle = frames + frames[::-1]
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (width, height))
    for i in range(int(minutes * 60 * FPS)):
        writer.write(cycle[i % len(cycle)])
    writer.release()
    return path


CHILD = """
import runpy, sys
report = sys.argv.pop(1)
try:
    runpy.run_module("romcam", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status, open(report, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM")).split()[1])
"""
"""Runs romcam and writes its own peak resident memory (VmHWM, kB). A child's ``ru_maxrss`` would include
the memory of the process it was forked from (this one, holding an hour of landmarks)."""


def peak_memory_mb(romcam_args: list[str], folder: Path) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of ``python -m romcam ROMCAM_ARGS`` in a child process."""
    report = folder / "peak_kb.txt"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, str(report), *romcam_args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, float(report.read_text()) / 1024.0


FRESH = """
import sys, time
from romcam.kinematics.filters import FilterSettings
from romcam.pipeline.evaluate import build_summary
from romcam.pipeline.offline import clean_offline
from romcam.types import PoseSequence
sequence, settings = PoseSequence.load_npz(sys.argv[1]), FilterSettings()
for _ in range(2):
    start = time.perf_counter()
    build_summary(clean_offline(sequence, settings), {}, {}, settings)
    print(time.perf_counter() - start)
"""
"""Loads the landmarks, then prints the seconds of its first and second cleaning with the summary."""

GOAL_S = 0.5


def fresh_runs(path: Path, processes: int) -> None:
    """First and second run of the cleaning with the summary in each of ``processes`` fresh processes."""
    firsts, seconds = [], []
    for _ in range(processes):
        run = subprocess.run([sys.executable, "-c", FRESH, str(path)], check=True, capture_output=True, text=True)
        first, second = (float(line) for line in run.stdout.split())
        firsts.append(first)
        seconds.append(second)
    met = sum(first <= GOAL_S for first in firsts)
    print(
        f"{processes} fresh processes: first run median {np.median(firsts):.2f} s ({min(firsts):.2f}-{max(firsts):.2f};"
        f" {met} of {processes} at most {GOAL_S} s), second run median {np.median(seconds):.2f} s"
        f" ({min(seconds):.2f}-{max(seconds):.2f})"
    )


def video_memory(folder: Path, minutes: float) -> None:
    """Peak memory of ``romcam analyze --no-video`` on a 1-minute and a ``minutes``-minute looped video."""
    peaks = {}
    for length in (1.0, minutes):
        video = looped_video(folder / f"loop_{length:g}min.mp4", length)
        out = folder / f"video_{length:g}"
        wall, peaks[length] = peak_memory_mb(["analyze", str(video), "--no-video", "--out", str(out)], folder)
        video.unlink()
        print(f"analyze --no-video, {length:g}-minute video: {wall:.0f} s, peak memory {peaks[length]:.0f} MB")
    print(f"peak memory {minutes:g} min / 1 min: {peaks[minutes] / peaks[1.0]:.2f} (target <= 1.2)")


def first_and_best_s(run: Callable[[], object], repeats: int = 3) -> tuple[float, float]:
    """Seconds of ``run()``: its first call in this process and the best of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times[0], min(times)


def machine() -> str:
    """The CPU model and the cores this process may use."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())
    return f"{model or 'unknown CPU'}, {available_cores()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--fresh", type=int, default=0, help="fresh processes timing their first run")
    parser.add_argument("--video-minutes", type=float, default=0.0)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = hour_of_landmarks(folder, args.minutes)
        sequence = PoseSequence.load_npz(path)
        print(f"{len(sequence)} frames ({args.minutes:g} min at 30 fps)")
        settings = FilterSettings()
        first, best = first_and_best_s(lambda: build_summary(clean_offline(sequence, settings), {}, {}, settings), 5)
        print(f"kinematics, flags and summary, {available_cores()} threads: first {first:.2f} s, best {best:.2f} s")
        first, best = first_and_best_s(lambda: clean_offline(sequence, settings))
        print(f"  of which kinematics (clean, angles, flags): first {first:.2f} s, best {best:.2f} s")
        measured = clean_offline(sequence, settings)
        first, best = first_and_best_s(lambda: build_summary(measured, {}, {}, settings))
        print(f"  of which summary: first {first:.2f} s, best {best:.2f} s")
        first, best = first_and_best_s(lambda: clean_offline(sequence, settings, workers=1))
        print(f"kinematics on one thread: first {first:.2f} s, best {best:.2f} s")
        wall, peak_mb = peak_memory_mb(["analyze", "--from-landmarks", str(path), "--out", str(folder / "out")], folder)
        print(f"romcam analyze --from-landmarks: {wall:.1f} s, peak memory {peak_mb:.0f} MB")
        if args.fresh > 0:
            fresh_runs(path, args.fresh)
        if args.video_minutes > 0:
            video_memory(folder, args.video_minutes)


if __name__ == "__main__":
    main()
