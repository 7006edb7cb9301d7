"""Per-frame cost of everything after pose inference in ``romcam exercise``: causal filter, metrics,
rep counter, form rules, cues, and drawing the overlay (target <= 5 ms).

Usage: python bench/exercise_overhead.py [LANDMARKS.npz]
Without an argument it first runs ``romcam analyze`` on samples/rendered_side_left.mp4 to get landmarks.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from romcam.app.analyze import AnalyzeConfig, run_analyze
from romcam.app.exercise import ExerciseConfig, ExerciseSession, _compose
from romcam.exercises import Program, ProgramItem, get_exercise
from romcam.types import PoseFrame, PoseSequence

ROOT = Path(__file__).resolve().parents[1]


def landmarks(path: str | None) -> PoseSequence:
    if path:
        return PoseSequence.load_npz(Path(path))
    out = Path(tempfile.mkdtemp())
    run_analyze(AnalyzeConfig(out_dir=out, source=str(ROOT / "samples" / "rendered_side_left.mp4"), write_video=False))
    return PoseSequence.load_npz(out / "landmarks.npz")


def main() -> None:
    seq = landmarks(sys.argv[1] if len(sys.argv) > 1 else None)
    frame = np.zeros((seq.height_px, seq.width_px, 3), np.uint8)
    for name in ("squat", "shoulder_abduction_raise"):
        program = Program("bench", (ProgramItem(get_exercise(name)),))
        session = ExerciseSession(ExerciseConfig(program=program, out_dir=Path(tempfile.mkdtemp())))
        rules_ms, draw_ms = [], []
        for i in range(len(seq)):
            pose = PoseFrame(seq.xy_px[i], seq.world_m[i], seq.visibility[i]) if seq.detected[i] else None
            t0 = time.perf_counter()
            shown = session.step(pose, float(seq.t_s[i]))
            t1 = time.perf_counter()
            _compose(frame, session, shown, mirror_display=True)
            t2 = time.perf_counter()
            rules_ms.append((t1 - t0) * 1e3)
            draw_ms.append((t2 - t1) * 1e3)
        total = np.array(rules_ms) + np.array(draw_ms)
        print(
            f"{name:<26} {len(seq)} frames: filter+metrics+rules {np.median(rules_ms):.2f} ms, "
            f"overlay {np.median(draw_ms):.2f} ms, total median {np.median(total):.2f} ms, "
            f"p95 {np.percentile(total, 95):.2f} ms (target <= 5 ms)"
        )


if __name__ == "__main__":
    main()
