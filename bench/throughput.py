"""Frames per second of a bare decode + MediaPipe loop versus ``romcam analyze --no-video``.

Usage: python bench/throughput.py [VIDEO] [--model TASK] [--rounds N]   (TASK: any .task file, e.g. a heavy bundle)
The bare loop tracks one person (VIDEO mode, ``num_poses=1``), the fastest MediaPipe can go; it also runs
with ``num_poses=2`` (the detector on every frame). analyze keeps bystanders out: by default it tracks one
pose and looks for everyone now and then; ``track_one_pose=False`` follows everyone on every frame. The
ratio analyze/bare says what that and romcam's own work cost on top of decoding and inference. The bare loop
and analyze run alternately ``--rounds`` times (default 3) and the ratio is the median of each round's: on a shared
host one pass of each can differ by 10 % from the host alone.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision

from romcam.app.analyze import AnalyzeConfig, run_analyze
from romcam.pose.models import LoadedModel, bench_model

ROOT = Path(__file__).resolve().parents[1]


def bare_loop_fps(video: Path, model: Path, num_poses: int = 1) -> tuple[float, int]:
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=num_poses,
    )
    start = time.perf_counter()
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        cap = cv2.VideoCapture(str(video))
        n = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            landmarker.detect_for_video(image, int(cap.get(cv2.CAP_PROP_POS_MSEC)) + n)
            n += 1
        cap.release()
    return n / (time.perf_counter() - start), n


def analyze_fps(video: Path, model: LoadedModel, track_one_pose: bool = True) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        config = AnalyzeConfig(out_dir=Path(out), source=str(video), write_video=False, track_one_pose=track_one_pose)
        result = run_analyze(config, model=model)
        elapsed = time.perf_counter() - start
    n = result.summary.frames.count
    return n / elapsed, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=str(ROOT / "samples" / "rendered_side_left.mp4"))
    parser.add_argument("--model", help="a .task model file (default: the full model romcam resolves)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating passes of the bare loop and analyze")
    args = parser.parse_args()
    loaded = bench_model(args.model) if args.model else LoadedModel.load(None, "full")
    model = loaded.resolved.path
    video = Path(args.video)
    rounds = [(bare_loop_fps(video, model), analyze_fps(video, loaded)) for _ in range(args.rounds)]
    bare_two, _ = bare_loop_fps(video, model, num_poses=2)
    everyone, _ = analyze_fps(video, loaded, track_one_pose=False)
    print(f"clip: {video.name} ({rounds[0][0][1]} frames)")
    for i, ((bare, _), (full, _)) in enumerate(rounds, 1):
        print(f"round {i}: bare num_poses=1 {bare:6.1f} frames/s, analyze --no-video {full:6.1f} frames/s")
    bare = statistics.median(b for (b, _), _ in rounds)
    full = statistics.median(f for _, (f, _) in rounds)
    print(f"bare decode+MediaPipe loop, num_poses=1: {bare:7.1f} frames/s (median of {len(rounds)})")
    print(f"bare decode+MediaPipe loop, num_poses=2: {bare_two:7.1f} frames/s")
    print(f"romcam analyze --no-video:               {full:7.1f} frames/s (median of {len(rounds)})")
    print(f"romcam analyze, following everyone:      {everyone:7.1f} frames/s")
    ratio = statistics.median(f / b for (b, _), (f, _) in rounds)
    print(f"ratio analyze / bare num_poses=1:        {ratio:7.3f}  (median of the rounds' ratios; target >= 0.95)")


if __name__ == "__main__":
    main()
