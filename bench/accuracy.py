"""Accuracy against the rendered clips' truth: MAE, max error and bias per angle and per 30-degree bin,
raw MediaPipe (no filter) versus romcam (left/right repair + Butterworth), and the share of bad frames
(|error| > 10 deg) that romcam flags (value withheld, or the frame's view is not the angle's plane).

Usage: python bench/accuracy.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from romcam.app.analyze import PLANE_VIEW, AnalyzeConfig, LoadedModel, _repaired, angles_from_sequence, run_analyze
from romcam.kinematics.angles import REGISTRY
from romcam.kinematics.filters import FilterSettings
from romcam.output.tables import read_angles_csv
from romcam.rules.view import classify_view
from romcam.types import PoseSequence

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ["rendered_side_left", "rendered_front", "rendered_abduction_trials_front", "rendered_knee_trials_side_left"]
BAD_DEG = 10.0


def landmarks(clip: str, model: LoadedModel) -> PoseSequence:
    out = Path(tempfile.mkdtemp())
    run_analyze(
        AnalyzeConfig(out_dir=out, source=str(ROOT / "samples" / f"{clip}.mp4"), write_video=False), model=model
    )
    return PoseSequence.load_npz(out / "landmarks.npz")


def row(label: str, err: np.ndarray) -> str:
    e = err[np.isfinite(err)]
    if e.size == 0:
        return f"{label:<46}   no data"
    return f"{label:<46}{np.mean(np.abs(e)):7.2f}{np.max(np.abs(e)):7.2f}{np.mean(e):7.2f}{e.size:7d}"


def main() -> None:
    model = LoadedModel.load(None, "full")
    print(f"{'clip / angle / variant':<46}{'MAE':>7}{'max':>7}{'bias':>7}{'n':>7}")
    for clip in CLIPS:
        _, truth = read_angles_csv(ROOT / "samples" / f"{clip}_truth.csv")
        seq = landmarks(clip, model)
        _, raw = angles_from_sequence(seq, FilterSettings(kind="none"))
        repaired, _ = _repaired(seq)
        xy, ours = angles_from_sequence(repaired, FilterSettings())
        views = classify_view(xy)
        for name in sorted(set(truth) & set(REGISTRY)):
            if np.ptp(truth[name]) < 20:  # only the angles the clip moves
                continue
            print(row(f"{clip} {name} raw", raw[name] - truth[name]))
            err = ours[name] - truth[name]
            print(row(f"{clip} {name} romcam", err))
            for lo in range(int(np.floor(truth[name].min() / 30) * 30), int(truth[name].max()) + 1, 30):
                sel = (truth[name] >= lo) & (truth[name] < lo + 30)
                if sel.sum() >= 10:
                    print(row(f"    true {lo:4d}..{lo + 30:<4d}", np.where(sel, err, np.nan)))
            needed = PLANE_VIEW.get(REGISTRY[name].plane)
            flagged = ~np.isfinite(ours[name]) | ((views != needed) if needed else False)
            bad = ~np.isfinite(err) | (np.abs(np.nan_to_num(err)) > BAD_DEG)
            share = f"{(bad & flagged).sum()}/{bad.sum()}" if bad.any() else "no bad frames"
            print(f"    bad frames (|error| > {BAD_DEG:.0f} deg) flagged: {share}")


if __name__ == "__main__":
    main()
