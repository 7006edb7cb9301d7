"""Keeping the same person as the measured subject when several are in view (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from romcam.landmarks import Landmark as L
from romcam.types import PoseFrame

_TORSO = [int(L.LEFT_SHOULDER), int(L.RIGHT_SHOULDER), int(L.LEFT_HIP), int(L.RIGHT_HIP)]


def body_size_px(frame: PoseFrame) -> float:
    """Diagonal of the bounding box of the landmarks, in pixels."""
    xy = frame.xy_px[np.isfinite(frame.xy_px).all(axis=1)]
    if len(xy) == 0:
        return 0.0
    return float(np.linalg.norm(xy.max(axis=0) - xy.min(axis=0)))


def torso_center_px(frame: PoseFrame) -> np.ndarray:
    """Mean of both shoulders and hips (those present), in pixels; NaN if none is."""
    points = frame.xy_px[_TORSO]
    points = points[np.isfinite(points).all(axis=1)]
    return points.mean(axis=0) if len(points) else np.full(2, np.nan)


def same_person(a: PoseFrame, b: PoseFrame, tolerance: float = 0.2) -> bool:
    """True when two poses of one frame (say, from two landmarkers) have torso centres closer than
    ``tolerance`` times the larger body size: the same person."""
    distance = float(np.linalg.norm(torso_center_px(a) - torso_center_px(b)))
    return distance <= tolerance * max(body_size_px(a), body_size_px(b), 1.0)


class SubjectTracker:
    """Chooses the measured person among the poses found in each frame.

    The first subject is the largest person in view. Afterwards the candidate whose torso centre is
    nearest the subject's last position wins, if it lies within ``max_jump`` body sizes; a person
    further away is a bystander. After ``reacquire_s`` seconds without the subject the largest
    person is taken again.
    """

    def __init__(self, max_jump: float = 0.5, reacquire_s: float = 1.0) -> None:
        self.max_jump, self.reacquire_s = max_jump, reacquire_s
        self._center: np.ndarray | None = None
        self._size = 0.0
        self._last_seen_s = -np.inf
        self.switches = 0

    def step(self, candidates: Sequence[PoseFrame], t_s: float) -> PoseFrame | None:
        """The subject's pose among ``candidates`` at time ``t_s``, or None if the subject is not in view."""
        if not candidates:
            return None
        chosen = self._nearest(candidates) if t_s - self._last_seen_s <= self.reacquire_s else None
        if chosen is None and (self._center is None or t_s - self._last_seen_s > self.reacquire_s):
            chosen = max(candidates, key=body_size_px)
            if self._center is not None:
                self.switches += 1
        if chosen is not None:
            self._center, self._size, self._last_seen_s = torso_center_px(chosen), body_size_px(chosen), t_s
        return chosen

    def accepts(self, candidates: Sequence[PoseFrame], t_s: float) -> bool:
        """True when ``step`` would keep following the subject with one of ``candidates`` (it is near the
        subject's last position, seen within ``reacquire_s``); changes nothing."""
        return t_s - self._last_seen_s <= self.reacquire_s and self._nearest(candidates) is not None

    def _nearest(self, candidates: Sequence[PoseFrame]) -> PoseFrame | None:
        if self._center is None:
            return None
        distances = [float(np.linalg.norm(torso_center_px(c) - self._center)) for c in candidates]
        best = int(np.nanargmin(distances)) if np.isfinite(distances).any() else -1
        if best < 0 or distances[best] > self.max_jump * max(self._size, 1.0):
            return None
        return candidates[best]
