"""Batch throughput: frames/s with 1 and 2 local workers and with the Ray engine, on the same clips,
and the peak memory of each worker process.

Usage: python bench/batch.py [CLIP ...]   (default: the shipped samples plus short clips from ../shared/media)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from romcam.app.analyze import AnalyzeConfig
from romcam.app.batch import BatchConfig, BatchReport, run_batch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIPS = [
    ROOT / "samples" / "rendered_side_left.mp4",
    ROOT / "samples" / "rendered_front.mp4",
    ROOT.parent / "shared" / "media" / "squat_front_02_home_workout.mp4",
    ROOT.parent / "shared" / "media" / "bridge_supine_side_01_backlit.mp4",
]


def run(clips: list[Path], workers: int, engine: str) -> BatchReport:
    with tempfile.TemporaryDirectory() as out:  # a fresh output folder: nothing is skipped
        config = BatchConfig(
            inputs=tuple(map(str, clips)),
            out_dir=Path(out),
            workers=workers,
            engine=engine,
            analysis=AnalyzeConfig(out_dir=Path(out), write_video=False),
        )
        return run_batch(config)


def main() -> None:
    given = [Path(c) for c in sys.argv[1:]] or [c for c in DEFAULT_CLIPS if c.exists()]
    with tempfile.TemporaryDirectory() as folder:
        clips = []
        for copy in range(2):  # each clip twice, as separate files, so start-up costs weigh as in a real batch
            for c in given:
                clips.append(Path(folder) / f"{c.stem}-{copy}{c.suffix}")
                shutil.copy(c, clips[-1])
        measure(clips)


def measure(clips: list[Path]) -> None:
    print(f"{len(clips)} clips: {', '.join(c.name for c in clips)}")
    base = None
    for workers, engine in ((1, "local"), (2, "local"), (2, "ray")):
        report = run(clips, workers, engine)
        per_worker: dict[int, float] = {}
        for r in report.results:
            per_worker[r.worker_pid] = max(per_worker.get(r.worker_pid, 0.0), r.peak_rss_mb)
        base = base or report.frames_per_s
        memory = ", ".join(f"{m:.0f}" for m in per_worker.values())
        print(
            f"{engine:<5} workers={workers}: {report.frames} frames in {report.seconds:6.1f} s = "
            f"{report.frames_per_s:5.1f} frames/s ({report.frames_per_s / base:4.2f}x one worker); "
            f"peak RSS per worker MB: {memory}"
        )


if __name__ == "__main__":
    main()
