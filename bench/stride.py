"""What ``--stride K`` costs in accuracy: peak-angle error against the rendered samples' truth.

Usage: python bench/stride.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from romcam.app.analyze import AnalyzeConfig, LoadedModel, run_analyze
from romcam.output.tables import read_angles_csv

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "rendered_side_left": ["left_knee_flexion", "left_hip_flexion", "left_shoulder_flexion", "left_elbow_flexion"],
    "rendered_front": ["left_shoulder_abduction", "right_shoulder_abduction"],
}


def main() -> None:
    model = LoadedModel.load(None, "full")
    print(f"{'clip':<20}{'angle':<26}" + "".join(f"{'stride ' + str(k):>10}" for k in (1, 2, 3, 5)))
    print(f"{'':<46}" + "peak error (deg) measured - true".rjust(40))
    for clip, names in CASES.items():
        _, truth = read_angles_csv(ROOT / "samples" / f"{clip}_truth.csv")
        peaks: dict[str, list[float]] = {n: [] for n in names}
        for stride in (1, 2, 3, 5):
            with tempfile.TemporaryDirectory() as out:
                config = AnalyzeConfig(
                    out_dir=Path(out), source=str(ROOT / "samples" / f"{clip}.mp4"), write_video=False, stride=stride
                )
                run_analyze(config, model=model)
                _, got = read_angles_csv(Path(out) / "angles.csv")
            for n in names:
                peaks[n].append(float(np.nanmax(got[n]) - np.max(truth[n])))
        for n in names:
            print(f"{clip:<20}{n:<26}" + "".join(f"{e:>10.1f}" for e in peaks[n]))


if __name__ == "__main__":
    main()
