"""Plays back saved landmarks as if they came from the model (no camera, no model needed)."""

from __future__ import annotations

from pathlib import Path

from romcam.types import PoseFrame, PoseSequence


class ReplayEstimator:
    """Returns the saved pose of frame i on its i-th call to ``estimate``."""

    def __init__(self, sequence: PoseSequence) -> None:
        self.sequence = sequence
        self._i = 0

    @classmethod
    def from_npz(cls, path: Path) -> ReplayEstimator:
        return cls(PoseSequence.load_npz(path))

    def estimate(self, frame_bgr: object, t_s: float) -> PoseFrame | None:
        """The next saved pose; None where none was saved or the sequence has ended."""
        i, self._i = self._i, self._i + 1
        seq = self.sequence
        if i >= len(seq) or not seq.detected[i]:
            return None
        return PoseFrame(seq.xy_px[i], seq.world_m[i], seq.visibility[i])
